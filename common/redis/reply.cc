#include "common/redis/reply.h"

#include <hiredis/hiredis.h>

#include <ostream>
#include <utility>

#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"

namespace rapport::redis {
namespace {

// Long error messages are scripts' own errors; the start says what failed.
constexpr size_t kMaxErrorMessage = 200;

absl::StatusCode CodeForError(absl::string_view code) {
  if (code == "NOSCRIPT") return absl::StatusCode::kNotFound;
  if (code == "WRONGTYPE" || code == "EXECABORT") {
    return absl::StatusCode::kFailedPrecondition;
  }
  if (code == "OOM") return absl::StatusCode::kResourceExhausted;
  for (absl::string_view transient :
       {"LOADING", "BUSY", "MASTERDOWN", "READONLY", "TRYAGAIN", "CLUSTERDOWN",
        "MISCONF", "NOAUTH", "WRONGPASS", "NOPERM", "MOVED", "ASK"}) {
    if (code == transient) return absl::StatusCode::kUnavailable;
  }
  return absl::StatusCode::kInternal;
}

absl::Status WrongKind(Reply::Kind want, const Reply& got) {
  if (got.is_error()) return got.AsStatus();
  return absl::InternalError(absl::StrCat("redis reply: expected ",
                                          KindName(want), ", got ",
                                          KindName(got.kind())));
}

}  // namespace

Reply Reply::Integer(int64_t value) {
  Reply r;
  r.kind_ = Kind::kInteger;
  r.integer_ = value;
  return r;
}

Reply Reply::String(std::string value) {
  Reply r;
  r.kind_ = Kind::kString;
  r.str_ = std::move(value);
  return r;
}

Reply Reply::Error(std::string message) {
  Reply r;
  r.kind_ = Kind::kError;
  r.str_ = std::move(message);
  return r;
}

Reply Reply::Array(std::vector<Reply> elements) {
  Reply r;
  r.kind_ = Kind::kArray;
  r.elements_ = std::move(elements);
  return r;
}

absl::string_view Reply::error_code() const {
  if (!is_error()) return {};
  absl::string_view msg = str_;
  return msg.substr(0, msg.find(' '));
}

absl::Status Reply::AsStatus() const {
  if (!is_error()) return absl::OkStatus();
  const absl::string_view code = error_code();
  absl::string_view shown = str_;
  if (absl::StrContains(shown, '\'')) {
    return {CodeForError(code),
            absl::StrCat("redis replied ", code,
                         " (message withheld: it quotes arguments)")};
  }
  if (shown.size() > kMaxErrorMessage) {
    shown = shown.substr(0, kMaxErrorMessage);
  }
  return {CodeForError(code), absl::StrCat("redis replied ", shown)};
}

absl::StatusOr<int64_t> Reply::AsInteger() const {
  if (!is_integer()) return WrongKind(Kind::kInteger, *this);
  return integer_;
}

absl::StatusOr<std::string> Reply::AsString() const {
  if (!is_string()) return WrongKind(Kind::kString, *this);
  return str_;
}

std::string Reply::DebugString() const {
  switch (kind_) {
    case Kind::kNil:
      return "nil";
    case Kind::kInteger:
      return absl::StrCat("(integer) ", integer_);
    case Kind::kString:
      return absl::StrCat("\"", absl::CEscape(str_), "\"");
    case Kind::kError:
      return absl::StrCat("(error) ", absl::CEscape(str_));
    case Kind::kArray:
      return absl::StrCat("[",
                          absl::StrJoin(elements_, ", ",
                                        [](std::string* out, const Reply& e) {
                                          out->append(e.DebugString());
                                        }),
                          "]");
  }
  return "?";
}

absl::string_view KindName(Reply::Kind kind) {
  switch (kind) {
    case Reply::Kind::kNil:
      return "nil";
    case Reply::Kind::kInteger:
      return "integer";
    case Reply::Kind::kString:
      return "string";
    case Reply::Kind::kError:
      return "error";
    case Reply::Kind::kArray:
      return "array";
  }
  return "unknown";
}

void PrintTo(const Reply& reply, std::ostream* os) {
  *os << reply.DebugString();
}

namespace internal {

Reply FromHiredis(const ::redisReply& reply) {
  switch (reply.type) {
    case REDIS_REPLY_INTEGER:
      return Reply::Integer(reply.integer);
    case REDIS_REPLY_STRING:
    case REDIS_REPLY_STATUS:
      return Reply::String(std::string(reply.str, reply.len));
    case REDIS_REPLY_ERROR:
      return Reply::Error(std::string(reply.str, reply.len));
    case REDIS_REPLY_ARRAY: {
      std::vector<Reply> elements;
      elements.reserve(reply.elements);
      for (size_t i = 0; i < reply.elements; ++i) {
        const ::redisReply* e = reply.element[i];
        elements.push_back(e == nullptr ? Reply::Nil() : FromHiredis(*e));
      }
      return Reply::Array(std::move(elements));
    }
    case REDIS_REPLY_NIL:
    default:
      return Reply::Nil();
  }
}

}  // namespace internal
}  // namespace rapport::redis

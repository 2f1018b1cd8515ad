#pragma once

// An owning copy of one Redis (RESP2) reply, so that hiredis types never leave
// the pool: callers get plain values they can keep after the connection has
// gone back to the pool.

#include <cstdint>
#include <iosfwd>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

// hiredis' reply type, only named here for the conversion below; the header
// itself is included by the .cc files that use it.
struct redisReply;

namespace rapport::redis {

class Reply {
 public:
  // RESP2 reply kinds. Bulk strings and status replies ("+OK", "+QUEUED") are
  // both kString: no caller in this project needs to tell them apart.
  enum class Kind { kNil, kInteger, kString, kError, kArray };

  // A nil reply.
  Reply() = default;

  static Reply Nil() { return Reply(); }
  static Reply Integer(int64_t value);
  static Reply String(std::string value);
  static Reply Error(std::string message);
  static Reply Array(std::vector<Reply> elements);

  Kind kind() const { return kind_; }
  bool is_nil() const { return kind_ == Kind::kNil; }
  bool is_integer() const { return kind_ == Kind::kInteger; }
  bool is_string() const { return kind_ == Kind::kString; }
  bool is_error() const { return kind_ == Kind::kError; }
  bool is_array() const { return kind_ == Kind::kArray; }

  // The value of an integer reply; 0 for any other kind.
  int64_t integer() const { return integer_; }
  // The bytes of a string reply or the message of an error reply
  // ("WRONGTYPE Operation against..."); empty for any other kind. Binary-safe:
  // may hold NULs.
  const std::string& str() const { return str_; }
  // The elements of an array reply; empty for any other kind. A nil array
  // (e.g. EXEC after a failed WATCH) is a kNil reply, not an empty array.
  const std::vector<Reply>& elements() const { return elements_; }
  std::vector<Reply>& mutable_elements() { return elements_; }

  // For error replies, the error code: the first word of the message
  // ("WRONGTYPE", "NOSCRIPT", "ERR"); empty otherwise.
  absl::string_view error_code() const;

  // OK unless this is an error reply. Error replies map to:
  //   NOSCRIPT                                  -> NOT_FOUND
  //   WRONGTYPE, EXECABORT                      -> FAILED_PRECONDITION
  //   OOM                                       -> RESOURCE_EXHAUSTED
  //   LOADING, BUSY, MASTERDOWN, READONLY, TRYAGAIN, CLUSTERDOWN, MISCONF,
  //   NOAUTH, WRONGPASS, NOPERM, MOVED, ASK      -> UNAVAILABLE
  //   anything else (ERR: a bug in the command) -> INTERNAL
  // The message is "redis replied <message>", except that messages quoting
  // arguments (Redis puts them in single quotes, e.g. "ERR unknown command
  // 'x', with args beginning with: 'key'") are cut to their code so that keys
  // and values never reach logs.
  absl::Status AsStatus() const;

  // Checked accessors: AsStatus() for error replies, INTERNAL naming both
  // kinds when the reply is of another kind than expected.
  absl::StatusOr<int64_t> AsInteger() const;
  absl::StatusOr<std::string> AsString() const;

  // For tests and debugging: shows the contents, which may be personal data.
  // Never log it.
  std::string DebugString() const;

  bool operator==(const Reply& other) const = default;

 private:
  Kind kind_ = Kind::kNil;
  int64_t integer_ = 0;
  std::string str_;
  std::vector<Reply> elements_;
};

absl::string_view KindName(Reply::Kind kind);  // "nil", "integer", ...

// GoogleTest printer (shows contents, see DebugString()).
void PrintTo(const Reply& reply, std::ostream* os);

namespace internal {
// Deep-copies a hiredis reply. For the pool, the test fixture and tests only.
Reply FromHiredis(const ::redisReply& reply);
}  // namespace internal

}  // namespace rapport::redis

#include "services/scoring/engine/template.h"

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"

namespace rapport::scoring::engine {
namespace {

struct PlaceholderName {
  absl::string_view name;
  Placeholder placeholder;
  bool profile;
  absl::string_view neutral;  // rendered when the value is missing
};

constexpr PlaceholderName kNames[kPlaceholderCount] = {
    {"address_as", Placeholder::kAddressAs, true, "them"},
    {"preferred_name", Placeholder::kPreferredName, true, "them"},
    {"full_name", Placeholder::kFullName, true, "them"},
    {"first_name", Placeholder::kFirstName, true, "them"},
    {"title", Placeholder::kTitle, true, "their role"},
    {"company", Placeholder::kCompany, true, "their company"},
    {"industry", Placeholder::kIndustry, true, "their industry"},
    {"priority", Placeholder::kPriority, true, "what matters to them"},
    {"challenge", Placeholder::kChallenge, true, "what is hard for them"},
    {"trigger_event", Placeholder::kTriggerEvent, true,
     "what changed for them recently"},
    {"interest", Placeholder::kInterest, true, "what interests them"},
    {"match", Placeholder::kMatch, false, "this"},
    {"sender_company", Placeholder::kSenderCompany, true, "your company"},
    {"product_name", Placeholder::kProductName, true, "your product"},
    {"word_count", Placeholder::kWordCount, false, "0"},
    {"ideal_max_words", Placeholder::kIdealMaxWords, false, "125"},
    {"ideal_min_words", Placeholder::kIdealMinWords, false, "50"},
    {"wait_days", Placeholder::kWaitDays, true, "a few"},
    {"reading_grade", Placeholder::kReadingGrade, false, "0"},
    {"max_reading_grade", Placeholder::kMaxReadingGrade, false, "9"},
};

}  // namespace

bool IsProfilePlaceholder(Placeholder p) {
  return kNames[static_cast<size_t>(p)].profile;
}

absl::StatusOr<Template> Template::Parse(absl::string_view text) {
  Template t;
  std::string literal;
  size_t i = 0;
  while (i < text.size()) {
    const char c = text[i];
    if (c == '{' && i + 1 < text.size() && text[i + 1] == '{') {
      literal.push_back('{');
      i += 2;
      continue;
    }
    if (c == '}' && i + 1 < text.size() && text[i + 1] == '}') {
      literal.push_back('}');
      i += 2;
      continue;
    }
    if (c == '}') {
      return absl::InvalidArgumentError(absl::StrCat(
          "unbalanced '}' at byte ", i, " (write '}}' for a brace)"));
    }
    if (c != '{') {
      literal.push_back(c);
      ++i;
      continue;
    }
    const size_t close = text.find('}', i + 1);
    if (close == absl::string_view::npos) {
      return absl::InvalidArgumentError(absl::StrCat(
          "unclosed '{' at byte ", i, " (write '{{' for a brace)"));
    }
    const absl::string_view name = text.substr(i + 1, close - i - 1);
    const PlaceholderName* found = nullptr;
    for (const PlaceholderName& p : kNames) {
      if (p.name == name) found = &p;
    }
    if (found == nullptr) {
      return absl::InvalidArgumentError(
          absl::StrCat("unknown placeholder {", name, "}"));
    }
    if (!literal.empty()) {
      t.parts_.push_back(Part{std::move(literal), -1});
      literal.clear();
    }
    t.parts_.push_back(Part{"", static_cast<int>(found->placeholder)});
    t.uses_ |= 1U << static_cast<unsigned>(found->placeholder);
    i = close + 1;
  }
  if (!literal.empty()) t.parts_.push_back(Part{std::move(literal), -1});
  for (const Part& part : t.parts_) t.literal_bytes_ += part.literal.size();
  return t;
}

bool Template::UsesProfilePlaceholder() const {
  for (const PlaceholderName& p : kNames) {
    if (p.profile && Uses(p.placeholder)) return true;
  }
  return false;
}

bool Template::CanRender(const Values& values) const {
  for (const Part& part : parts_) {
    if (part.placeholder >= 0 &&
        !values.has[static_cast<size_t>(part.placeholder)]) {
      return false;
    }
  }
  return true;
}

void Template::Render(const Values& values, std::string* out) const {
  // The exact size first: one allocation, no regrowth.
  size_t size = literal_bytes_;
  for (const Part& part : parts_) {
    if (part.placeholder < 0) continue;
    const auto p = static_cast<size_t>(part.placeholder);
    size += values.has[p] ? values.value[p].size() : kNames[p].neutral.size();
  }
  out->reserve(out->size() + size);
  for (const Part& part : parts_) {
    if (part.placeholder < 0) {
      out->append(part.literal);
      continue;
    }
    const auto p = static_cast<size_t>(part.placeholder);
    if (values.has[p]) {
      out->append(values.value[p].data(), values.value[p].size());
    } else {
      out->append(kNames[p].neutral.data(), kNames[p].neutral.size());
    }
  }
}

}  // namespace rapport::scoring::engine

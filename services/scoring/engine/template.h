#pragma once

// Text templates of rules (explanation, suggestion, fallback_suggestion,
// replacement): literal text with {placeholders} filled from the recipient's
// profile, the sender and the match. Parsed once when the rules are loaded;
// rendering appends to a string without parsing. "{{" and "}}" stand for
// literal braces.

#include <array>
#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace rapport::scoring::engine {

// The placeholders of rules.proto, plus {ideal_min_words},
// {reading_grade} and {max_reading_grade} (documented in rules/README.md).
enum class Placeholder : uint8_t {
  kAddressAs,
  kPreferredName,
  kFullName,
  kFirstName,
  kTitle,
  kCompany,
  kIndustry,
  kPriority,
  kChallenge,
  kTriggerEvent,
  kInterest,
  kMatch,
  kSenderCompany,
  kProductName,
  kWordCount,
  kIdealMaxWords,
  kIdealMinWords,
  kWaitDays,
  kReadingGrade,
  kMaxReadingGrade,
};
inline constexpr size_t kPlaceholderCount = 20;

// Placeholders whose value comes from the profile or the sender and may be
// missing; a suggestion using one needs a fallback_suggestion.
bool IsProfilePlaceholder(Placeholder p);

class Template {
 public:
  // Parses `text`; an unknown placeholder or an unbalanced brace is an error
  // naming it.
  static absl::StatusOr<Template> Parse(absl::string_view text);

  bool empty() const { return parts_.empty(); }
  bool Uses(Placeholder p) const {
    return (uses_ >> static_cast<unsigned>(p)) & 1U;
  }
  bool UsesProfilePlaceholder() const;

  // Values by placeholder; `has` says which are known.
  struct Values {
    std::array<absl::string_view, kPlaceholderCount> value;
    std::array<bool, kPlaceholderCount> has{};
    void Set(Placeholder p, absl::string_view v) {
      value[static_cast<size_t>(p)] = v;
      has[static_cast<size_t>(p)] = !v.empty();
    }
  };

  // True when every placeholder used has a value.
  bool CanRender(const Values& values) const;

  // Appends the rendered text to `out`. A placeholder without a value
  // renders as a neutral phrase ("them", "their company"), so explanations
  // always read as sentences. Values must be valid UTF-8.
  void Render(const Values& values, std::string* out) const;

 private:
  struct Part {
    std::string literal;
    int placeholder = -1;  // a Placeholder, or -1 for a literal
  };
  std::vector<Part> parts_;
  uint32_t uses_ = 0;
  size_t literal_bytes_ = 0;
};

}  // namespace rapport::scoring::engine

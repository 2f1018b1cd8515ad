// libFuzzer target: the tokenizer and the structure analysis (greeting,
// signature, quoted reply, paragraphs, sentences) on arbitrary bytes. Checks
// that every offset stays inside the input and that tokens are ordered.
//
// Built and run by fuzz/run.sh (clang, -fsanitize=fuzzer,address,undefined).

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <memory>
#include <string>

#include "services/scoring/engine/rules.h"
#include "services/scoring/engine/rules_internal.h"
#include "services/scoring/engine/text/structure.h"
#include "services/scoring/engine/text/tokenizer.h"

namespace {

using rapport::scoring::engine::CompiledRules;
namespace text = rapport::scoring::engine::text;

const CompiledRules& Rules() {
  static const std::shared_ptr<const CompiledRules> rules = [] {
    const char* path = std::getenv("RAPPORT_RULES");
    auto r = rapport::scoring::engine::LoadRules(
        path != nullptr ? path : RAPPORT_DEFAULT_RULES);
    if (!r.ok()) std::abort();
    return *r;
  }();
  return *rules;
}

void Check(bool ok) {
  if (!ok) __builtin_trap();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string input(reinterpret_cast<const char*>(data), size);
  std::vector<text::Token> tokens;
  std::string folded;
  text::Tokenize(input, &tokens, &folded);
  uint32_t last_end = 0;
  for (const text::Token& t : tokens) {
    Check(t.start >= last_end && t.start < t.end && t.end <= size);
    Check(static_cast<size_t>(t.fold_start) + t.fold_len <= folded.size());
    last_end = t.end;
  }
  text::FieldText field;
  text::NameHints hints;
  hints.recipient = {"mitch", "mitchell"};
  hints.sender = {"bob"};
  for (bool is_body : {true, false}) {
    text::AnalyzeField(input, is_body, Rules().data().text, hints, &field);
    Check(field.tokens.size() == tokens.size());
    for (const text::Sentence& s : field.sentences) {
      Check(s.tok_begin < s.tok_end && s.tok_end <= field.tokens.size());
      Check(s.start < s.end && s.end <= size);
    }
    for (const text::Paragraph& p : field.paragraphs) {
      Check(p.tok_begin < p.tok_end && p.end <= size);
    }
    Check(field.scored_start <= field.scored_end && field.scored_end <= size);
  }
  return 0;
}

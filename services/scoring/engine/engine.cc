#include "services/scoring/engine/engine.h"

#include <algorithm>
#include <cmath>

#include "absl/strings/str_cat.h"
#include "services/scoring/engine/engine_internal.h"
#include "services/scoring/engine/text/syllables.h"
#include "services/scoring/engine/text/utf8.h"

namespace rapport::scoring::engine {
namespace {

namespace v1 = ::rapport::scoring::v1;
namespace common = ::rapport::common::v1;
namespace profile = ::rapport::profile::v1;
using text::FieldText;
using text::Region;
using text::Token;
using text::TokenKind;

// Profile items read per kind (the most important first).
constexpr int kMaxItemsPerKind = 16;
// Longest excerpt in a finding, in bytes (scoring.proto).
constexpr size_t kMaxExcerpt = 200;
// Most findings in a report (scoring.proto).
constexpr int kMaxFindings = 100;
constexpr uint32_t kNoSentence = 0xFFFFFFFF;
// Share of an item's words a draft must use for the item to count as
// referenced in the "why now" and sentence-relevance facts (the relevance
// detectors have their own param).
constexpr double kItemShare = 0.5;

Workspace& ThreadWorkspace() {
  thread_local Workspace ws;
  return ws;
}

absl::string_view View(const std::string& s) {
  return absl::string_view(s.data(), s.size());
}

absl::string_view TrimSpace(absl::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) {
    s.remove_prefix(1);
  }
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) {
    s.remove_suffix(1);
  }
  return s;
}

absl::string_view FirstWord(absl::string_view s) {
  s = TrimSpace(s);
  const size_t sp = s.find_first_of(" \t");
  return sp == absl::string_view::npos ? s : s.substr(0, sp);
}

absl::string_view LastWord(absl::string_view s) {
  s = TrimSpace(s);
  const size_t sp = s.find_last_of(" \t");
  return sp == absl::string_view::npos ? s : s.substr(sp + 1);
}

// A light suffix stripper for matching a draft against profile items
// ("onboarding" ~ "onboard", "reps" ~ "rep", "opened" ~ "open",
// "company" ~ "companies"). Every step removes a suffix, so the stem is a
// prefix of the folded word and needs no storage. Hand-written rather than
// Snowball (libstemmer): it only has to make a draft and a profile written
// by the same seller agree, and stays allocation-free.
absl::string_view Stem(absl::string_view w) {
  // Suffixes compared byte by byte: they are 1-4 bytes, and a call to
  // memcmp per test would cost more than the test.
  auto ends = [&](absl::string_view s) {
    if (w.size() < s.size()) return false;
    const char* tail = w.data() + (w.size() - s.size());
    for (size_t i = 0; i < s.size(); ++i) {
      if (tail[i] != s[i]) return false;
    }
    return true;
  };
  if (w.size() > 2 && ends("'s")) w.remove_suffix(2);
  bool stripped_verb = false;
  if (w.size() > 4 && ends("ies")) {
    w.remove_suffix(3);
  } else if (w.size() > 5 && ends("ing")) {
    w.remove_suffix(3);
    stripped_verb = true;
  } else if (w.size() > 4 && ends("ed")) {
    w.remove_suffix(2);
    stripped_verb = true;
  } else if (w.size() > 3 && (ends("ses") || ends("xes") || ends("zes") ||
                              ends("ches") || ends("shes"))) {
    w.remove_suffix(2);
  } else if (w.size() > 3 && ends("s") && !ends("ss") && !ends("us") &&
             !ends("is")) {
    w.remove_suffix(1);
  }
  if (stripped_verb && w.size() > 3 && w[w.size() - 1] == w[w.size() - 2] &&
      w.back() != 'l' && w.back() != 's' && w.back() != 'z') {
    w.remove_suffix(1);  // "planning" -> "plan"
  }
  if (w.size() > 3 && (ends("y") || ends("e"))) w.remove_suffix(1);
  return w;
}

// Bit of a word in Workspace::stem_bloom: a hash of its first three bytes
// (a stem is a prefix of its word, so a word and its stem agree on them
// when the stem has three bytes or more).
uint32_t BloomBit(absl::string_view s) {
  uint32_t h = 2166136261U;
  for (size_t i = 0; i < s.size() && i < 3; ++i) {
    h ^= static_cast<unsigned char>(s[i]);
    h *= 16777619U;
  }
  return (h ^ (h >> 16)) & 1023U;
}

// Segments of Workspace::ptext, in the order ReadProfileAndSender() adds
// them; products and items follow.
enum FixedSegment : uint32_t {
  kSegFullName,
  kSegPreferredName,
  kSegAddressAs,
  kSegCompany,
  kSegRepName,
  kSegSenderCompany,
  kFixedSegments,
};

// Most products and items read (Sender and Contact allow 32 each).
constexpr int kMaxProducts = 32;

class Scorer {
 public:
  Scorer(const ScoreInput& in, const CompiledRules& rules,
         const ModelWeights& weights, Workspace* ws)
      : in_(in), rules_(rules), d_(rules.data()), weights_(weights), ws_(*ws) {}

  void Run(v1::ScoreReport* report, Signals* signals_out) {
    const v1::Draft& draft =
        in_.draft != nullptr ? *in_.draft : v1::Draft::default_instance();
    channel_ = draft.channel();
    if (channel_ <= 0 || channel_ >= kChannelCount) {
      channel_ = common::CHANNEL_EMAIL;
    }
    ReadProfileAndSender();
    text::AnalyzeField(draft.subject(), false, d_.text, ws_.hints,
                       &ws_.fields[kSubject]);
    text::AnalyzeField(draft.body(), true, d_.text, ws_.hints,
                       &ws_.fields[kBody]);
    ws_.matches.clear();
    ws_.norm_built[kSubject] = ws_.norm_built[kBody] = false;
    for (uint8_t f : {kSubject, kBody}) {
      PhrasePass(f);
      PatternPass(f);
    }
    GroupMatches();
    ComputeFacts();
    RunRules();
    BuildReport(report, signals_out);
  }

 private:
  // ---- Inputs -------------------------------------------------------------

  // Appends `s` as the next segment of the profile text.
  void AddSegment(absl::string_view s) {
    Segment seg;
    seg.begin = static_cast<uint32_t>(ws_.ptext.size());
    ws_.ptext.append(s.data(), s.size());
    seg.end = static_cast<uint32_t>(ws_.ptext.size());
    ws_.ptext.push_back('\n');
    ws_.segments.push_back(seg);
  }

  // Folded words (word and number tokens) of segment `i`, appended to `out`.
  void SegmentWords(size_t i, std::vector<absl::string_view>* out) const {
    const Segment& seg = ws_.segments[i];
    for (uint32_t t = seg.tok_begin; t < seg.tok_end; ++t) {
      const Token& tok = ws_.ptokens[t];
      if (tok.kind != TokenKind::kWord && tok.kind != TokenKind::kNumber) {
        continue;
      }
      out->push_back(text::FoldedText(ws_.pfold, tok));
    }
  }

  // Adds segment `i` as a phrase to find in the draft, without trailing
  // legal suffixes ("Blah Inc" -> "blah").
  void AddDynPhrase(size_t i, std::vector<DynPhrase>* phrases) {
    DynPhrase p;
    p.first = static_cast<uint32_t>(ws_.dyn_words.size());
    SegmentWords(i, &ws_.dyn_words);
    size_t n = ws_.dyn_words.size() - p.first;
    while (n > 1 && d_.text.final_abbreviations.contains(
                        ws_.dyn_words[p.first + n - 1])) {
      --n;
    }
    ws_.dyn_words.resize(p.first + n);
    p.count = static_cast<uint32_t>(n);
    if (n > 0) phrases->push_back(p);
  }

  // Reads the profile and the sender: plain views for templates, and their
  // strings tokenized in one pass for names, mentions and profile items.
  void ReadProfileAndSender() {
    ProfileView& p = ws_.profile;
    p = ProfileView{};
    ws_.sender_company = {};
    ws_.product_name = {};
    ws_.ptext.clear();
    ws_.segments.clear();
    const common::Contact& c = in_.profile != nullptr
                                   ? in_.profile->contact()
                                   : common::Contact::default_instance();
    const common::Sender& s = in_.sender != nullptr
                                  ? *in_.sender
                                  : common::Sender::default_instance();
    if (in_.profile != nullptr) {
      const profile::Profile& prof = *in_.profile;
      p.present = true;
      p.full_name = TrimSpace(c.full_name());
      p.preferred_name = TrimSpace(c.preferred_name());
      p.first_name = FirstWord(p.full_name);
      p.last_name = LastWord(p.full_name);
      p.address_as = TrimSpace(prof.address_as());
      if (p.address_as.empty()) {
        p.address_as =
            !p.preferred_name.empty() ? p.preferred_name : p.first_name;
      }
      p.title = TrimSpace(c.title());
      p.company = TrimSpace(c.company());
      p.industry = TrimSpace(c.industry());
      if (c.priorities_size() > 0) p.priority = TrimSpace(c.priorities(0));
      if (c.challenges_size() > 0) p.challenge = TrimSpace(c.challenges(0));
      if (c.trigger_events_size() > 0) {
        p.trigger_event = TrimSpace(c.trigger_events(0).description());
      }
      if (prof.interests_size() > 0) {
        p.interest = TrimSpace(prof.interests(0).topic());
      }
      p.stage = prof.stage();
      if (p.stage <= 0 || p.stage >= kStageCount) {
        p.stage = common::BUYING_STAGE_UNKNOWN;
      }
      p.do_not_contact = c.do_not_contact();
      p.fatigued = prof.fatigue().fatigued();
      p.wait_seconds = prof.fatigue().recommended_wait().seconds();
      p.item_count = c.priorities_size() + c.challenges_size() +
                     c.trigger_events_size() + prof.interests_size();
    }
    ws_.sender_company = TrimSpace(s.company_name());
    if (s.product_names_size() > 0) {
      ws_.product_name = TrimSpace(s.product_names(0));
    }

    // Segments: fixed ones, products, then profile items.
    AddSegment(p.full_name);
    AddSegment(p.preferred_name);
    AddSegment(p.address_as);
    AddSegment(p.company);
    AddSegment(TrimSpace(s.rep_name()));
    AddSegment(ws_.sender_company);
    const int products = std::min(s.product_names_size(), kMaxProducts);
    for (int i = 0; i < products; ++i) AddSegment(s.product_names(i));
    items_begin_ = ws_.segments.size();
    ws_.items.clear();
    if (in_.profile != nullptr) {
      const profile::Profile& prof = *in_.profile;
      auto add = [&](absl::string_view item, ItemKind kind) {
        ProfileItem it;
        it.kind = kind;
        ws_.items.push_back(it);
        AddSegment(item);
      };
      for (int i = 0; i < c.priorities_size() && i < kMaxItemsPerKind; ++i) {
        add(c.priorities(i), ItemKind::kPriority);
      }
      for (int i = 0; i < c.challenges_size() && i < kMaxItemsPerKind; ++i) {
        add(c.challenges(i), ItemKind::kChallenge);
      }
      for (int i = 0; i < c.trigger_events_size() && i < kMaxItemsPerKind;
           ++i) {
        add(c.trigger_events(i).description(), ItemKind::kTriggerEvent);
      }
      for (int i = 0; i < prof.interests_size() && i < kMaxItemsPerKind; ++i) {
        add(prof.interests(i).topic(), ItemKind::kInterest);
      }
    }
    text::Tokenize(ws_.ptext, &ws_.ptokens, &ws_.pfold);
    // Tokens to segments (both in text order).
    size_t t = 0;
    for (Segment& seg : ws_.segments) {
      while (t < ws_.ptokens.size() && ws_.ptokens[t].start < seg.begin) ++t;
      seg.tok_begin = static_cast<uint32_t>(t);
      while (t < ws_.ptokens.size() && ws_.ptokens[t].end <= seg.end) ++t;
      seg.tok_end = static_cast<uint32_t>(t);
    }

    // Names. The formal first name is a finding when a different preferred
    // name is known (and is not just another word of the full name).
    ws_.full_name_words.clear();
    ws_.acceptable_names.clear();
    ws_.hints.recipient.clear();
    ws_.hints.sender.clear();
    ws_.formal_first = {};
    SegmentWords(kSegFullName, &ws_.full_name_words);
    SegmentWords(kSegPreferredName, &ws_.hints.recipient);
    const std::vector<absl::string_view>& full = ws_.full_name_words;
    if (!full.empty() && !ws_.hints.recipient.empty() &&
        std::find(full.begin(), full.end(), ws_.hints.recipient[0]) ==
            full.end()) {
      ws_.formal_first = full[0];
    }
    ws_.hints.recipient.insert(ws_.hints.recipient.end(), full.begin(),
                               full.end());
    SegmentWords(kSegRepName, &ws_.hints.sender);
    // Acceptable names: preferred and address-as words, every word of the
    // full name (the formal one has its own finding) and company words.
    SegmentWords(kSegPreferredName, &ws_.acceptable_names);
    SegmentWords(kSegAddressAs, &ws_.acceptable_names);
    SegmentWords(kSegFullName, &ws_.acceptable_names);
    SegmentWords(kSegCompany, &ws_.acceptable_names);
    // Mentions that count toward focus: the recipient's names and company,
    // the seller's company and products.
    ws_.dyn_words.clear();
    ws_.recipient_phrases.clear();
    ws_.seller_phrases.clear();
    if (p.present) {
      AddDynPhrase(kSegAddressAs, &ws_.recipient_phrases);
      AddDynPhrase(kSegPreferredName, &ws_.recipient_phrases);
      // The first name alone (the formal one still names them).
      if (!full.empty()) {
        DynPhrase first;
        first.first = static_cast<uint32_t>(ws_.dyn_words.size());
        first.count = 1;
        ws_.dyn_words.push_back(full[0]);
        ws_.recipient_phrases.push_back(first);
      }
      AddDynPhrase(kSegCompany, &ws_.recipient_phrases);
    }
    AddDynPhrase(kSegSenderCompany, &ws_.seller_phrases);
    for (int i = 0; i < products; ++i) {
      AddDynPhrase(kFixedSegments + static_cast<size_t>(i),
                   &ws_.seller_phrases);
    }
  }

  // ---- Matching -----------------------------------------------------------

  void PhrasePass(uint8_t f) {
    FieldText& field = ws_.fields[f];
    const text::TokenSpan span = field.span();
    const auto n = static_cast<uint32_t>(field.tokens.size());
    uint32_t run_end = 0;
    for (uint32_t i = 0; i < n; ++i) {
      Token& t = field.tokens[i];
      if (t.region != Region::kScored) continue;
      if (i >= run_end) {
        run_end = i;
        while (run_end < n && field.tokens[run_end].region == Region::kScored) {
          ++run_end;
        }
      }
      const text::PhraseIndex::Head* head =
          d_.phrases.FindHead(field.Folded(i));
      if (head == nullptr) continue;
      t.roles = head->roles;
      d_.phrases.ForEachMatchAt(
          *head, span, i, run_end, [&](uint32_t e, size_t len) {
            const uint32_t end = field.tokens[i + len - 1].end;
            for (uint32_t s : d_.phrase_sources[e]) {
              ws_.matches.push_back(Match{s, f, t.start, end});
            }
          });
    }
  }

  // Builds the normalised text of field `f` as runs: a run is a stretch of
  // scored tokens whose original bytes already are their normalised form
  // (tokens glued or separated by one ASCII space), copied in one go; a
  // token with typographic quotes is a run of its own.
  void BuildNormalized(uint8_t f) {
    ws_.norm_built[f] = true;
    const FieldText& field = ws_.fields[f];
    std::string& norm = ws_.norm[f];
    std::vector<Workspace::NormRun>& runs = ws_.norm_runs[f];
    std::vector<uint32_t>& tn = ws_.token_run[f];
    norm.clear();
    runs.clear();
    tn.resize(field.tokens.size());
    bool open = false;
    bool prev_scored = false;
    uint32_t prev_end = 0;
    auto close = [&] {
      if (!open) return;
      Workspace::NormRun& r = runs.back();
      norm.append(field.text.data() + r.orig_start, r.orig_len);
      r.len = r.orig_len;
      open = false;
    };
    for (uint32_t i = 0; i < field.tokens.size(); ++i) {
      const Token& t = field.tokens[i];
      if (t.region != Region::kScored) {
        close();
        if (prev_scored) norm.push_back('\n');
        prev_scored = false;
        continue;
      }
      const bool quotes = (t.flags & text::kCurlyQuote) != 0;
      if (prev_scored) {
        const bool glued = t.start == prev_end || (t.start == prev_end + 1 &&
                                                   field.text[prev_end] == ' ');
        if (open && glued && !quotes) {
          runs.back().orig_len = t.end - runs.back().orig_start;
          tn[i] = static_cast<uint32_t>(runs.size() - 1);
          prev_end = t.end;
          continue;
        }
        close();
        if (t.flags & text::kSpaceBefore) norm.push_back(' ');
      }
      Workspace::NormRun r;
      r.norm_start = static_cast<uint32_t>(norm.size());
      r.orig_start = t.start;
      r.orig_len = t.end - t.start;
      r.token = i;
      r.quotes = quotes;
      tn[i] = static_cast<uint32_t>(runs.size());
      runs.push_back(r);
      if (quotes) {
        text::AppendQuoteNormalized(field.text.substr(t.start, t.end - t.start),
                                    &norm);
        runs.back().len = static_cast<uint32_t>(norm.size()) - r.norm_start;
      } else {
        open = true;
      }
      prev_scored = true;
      prev_end = t.end;
    }
    close();
  }

  // The run holding normalised byte `p`, or the one before the separator
  // holding it.
  const Workspace::NormRun& RunAt(uint8_t f, size_t p) const {
    const std::vector<Workspace::NormRun>& runs = ws_.norm_runs[f];
    auto it = std::upper_bound(
        runs.begin(), runs.end(), p,
        [](size_t v, const Workspace::NormRun& r) { return v < r.norm_start; });
    return *(it == runs.begin() ? it : it - 1);
  }

  // Original offset of normalised byte `off` of a token with typographic
  // quotes (a quote is one normalised byte): its start, or its end.
  uint32_t WalkQuotes(const Token& t, const FieldText& field, size_t off,
                      bool end) const {
    const absl::string_view s = field.text.substr(t.start, t.end - t.start);
    size_t orig = 0;
    size_t n = 0;
    while (orig < s.size()) {
      char32_t cp;
      const auto len = static_cast<size_t>(text::DecodeUtf8(s, orig, &cp));
      const bool quote = cp == 0x2018 || cp == 0x2019 || cp == 0x02BC ||
                         cp == 0x2032 || cp == 0x201C || cp == 0x201D ||
                         cp == 0x2033;
      const size_t nlen = quote ? 1 : len;
      if (n + nlen > off) {
        return t.start + static_cast<uint32_t>(orig + (end ? len : 0));
      }
      n += nlen;
      orig += len;
    }
    return t.end;
  }

  // Original offset of normalised byte `p`: where it starts (`end` false)
  // or where it ends (`end` true).
  uint32_t ToOriginalByte(uint8_t f, size_t p, bool end) const {
    const Workspace::NormRun& r = RunAt(f, p);
    if (p >= r.norm_start + r.len) return r.orig_start + r.orig_len;
    const size_t off = p - r.norm_start;
    if (r.quotes) {
      return WalkQuotes(ws_.fields[f].tokens[r.token], ws_.fields[f], off, end);
    }
    return r.orig_start + static_cast<uint32_t>(off) + (end ? 1 : 0);
  }

  // Original span of normalised bytes [ms, me).
  std::pair<uint32_t, uint32_t> ToOriginal(uint8_t f, size_t ms,
                                           size_t me) const {
    const uint32_t start = ToOriginalByte(f, ms, false);
    const uint32_t end = ToOriginalByte(f, me - 1, true);
    return {start, std::max(start, end)};
  }

  // The normalised window [begin, end) of scored tokens [tok_begin,
  // tok_end) of field `f` (a sentence or a paragraph).
  std::pair<size_t, size_t> Window(uint8_t f, uint32_t tok_begin,
                                   uint32_t tok_end) const {
    const std::vector<Workspace::NormRun>& runs = ws_.norm_runs[f];
    const std::vector<uint32_t>& tn = ws_.token_run[f];
    const std::vector<Token>& toks = ws_.fields[f].tokens;
    const Workspace::NormRun& a = runs[tn[tok_begin]];
    const Workspace::NormRun& b = runs[tn[tok_end - 1]];
    const size_t begin =
        a.quotes ? a.norm_start
                 : a.norm_start + (toks[tok_begin].start - a.orig_start);
    const size_t end =
        b.quotes ? b.norm_start + b.len
                 : b.norm_start + (toks[tok_end - 1].end - b.orig_start);
    return {begin, end};
  }

  // Calls fn(ms, me) for every match of `re` within normalised window
  // [begin, end) of field `f` (the whole text is context for \b and ^).
  template <typename Fn>
  void ForEachMatch(const RE2& re, uint8_t f, size_t begin, size_t end,
                    Fn&& fn) {
    const std::string& norm = ws_.norm[f];
    const re2::StringPiece text(norm);
    size_t pos = begin;
    while (pos < end) {
      re2::StringPiece m;
      if (!re.Match(text, pos, end, RE2::UNANCHORED, &m, 1)) break;
      const auto ms = static_cast<size_t>(m.data() - norm.data());
      const size_t me = ms + m.size();
      if (me == ms) {
        pos = ms + 1;
        continue;
      }
      pos = me;
      fn(ms, me);
    }
  }

  // Every match of pattern `k` in a window of field `f`.
  void FindPattern(uint8_t f, int k, size_t begin, size_t end) {
    const PatternEntry& p = d_.patterns[static_cast<size_t>(k)];
    ForEachMatch(*p.re, f, begin, end, [&](size_t ms, size_t me) {
      const auto [start, stop] = ToOriginal(f, ms, me);
      for (uint32_t s : p.sources) {
        ws_.matches.push_back(Match{s, f, start, stop});
      }
    });
  }

  // Patterns are matched paragraph by paragraph: the RE2::Set says which
  // patterns occur in a paragraph in one pass, and only those are searched
  // for positions, within that paragraph.
  void PatternPass(uint8_t f) {
    if (d_.patterns.empty()) return;
    BuildNormalized(f);
    if (ws_.norm[f].empty()) return;
    const std::string& norm = ws_.norm[f];
    for (const text::Paragraph& para : ws_.fields[f].paragraphs) {
      const auto [begin, end] = Window(f, para.tok_begin, para.tok_end);
      const re2::StringPiece window(norm.data() + begin, end - begin);
      for (int cs = 0; cs < 2; ++cs) {
        const RE2::Set* set =
            cs ? d_.pattern_set_cs.get() : d_.pattern_set_ci.get();
        const std::vector<int>& map =
            cs ? d_.set_cs_to_pattern : d_.set_ci_to_pattern;
        if (set == nullptr) continue;
        ws_.set_hits.clear();
        RE2::Set::ErrorInfo error;
        if (set->Match(window, &ws_.set_hits, &error)) {
          for (int h : ws_.set_hits) {
            FindPattern(f, map[static_cast<size_t>(h)], begin, end);
          }
        } else if (error.kind != RE2::Set::kNoError) {
          // The set's automaton ran out of memory: one pattern at a time
          // (slower, same result).
          for (int k : map) FindPattern(f, k, begin, end);
        }
      }
    }
  }

  // Groups matches by source (counting sort; stable, so by field and
  // position within a source after sorting each group).
  void GroupMatches() {
    const size_t sources = d_.source_count;
    ws_.source_begin.assign(sources + 1, 0);
    for (const Match& m : ws_.matches) ++ws_.source_begin[m.source + 1];
    for (size_t s = 0; s < sources; ++s) {
      ws_.source_begin[s + 1] += ws_.source_begin[s];
    }
    ws_.grouped.resize(ws_.matches.size());
    ws_.group_next.assign(ws_.source_begin.begin(), ws_.source_begin.end());
    for (const Match& m : ws_.matches) {
      ws_.grouped[ws_.group_next[m.source]++] = m;
    }
  }

  // Matches of one source.
  std::pair<const Match*, const Match*> MatchesOf(int source) const {
    if (source < 0 || static_cast<size_t>(source) >= d_.source_count) {
      return {nullptr, nullptr};
    }
    const Match* base = ws_.grouped.data();
    return {base + ws_.source_begin[static_cast<size_t>(source)],
            base + ws_.source_begin[static_cast<size_t>(source) + 1]};
  }

  // ---- Facts --------------------------------------------------------------

  uint32_t SentenceAt(uint32_t byte) const {
    const std::vector<text::Sentence>& ss = ws_.fields[kBody].sentences;
    auto it = std::upper_bound(
        ss.begin(), ss.end(), byte,
        [](uint32_t b, const text::Sentence& s) { return b < s.start; });
    if (it == ss.begin()) return kNoSentence;
    --it;
    return byte < it->end ? static_cast<uint32_t>(it - ss.begin())
                          : kNoSentence;
  }

  // Finds the seller's and the recipient's names in one pass over the
  // scored words; a filter on the first byte and length of the phrases'
  // first words skips most words without a comparison.
  void FindMentions() {
    ws_.seller_mentions.clear();
    ws_.recipient_mentions.clear();
    const std::vector<DynPhrase>* lists[2] = {&ws_.seller_phrases,
                                              &ws_.recipient_phrases};
    std::vector<Mention>* outs[2] = {&ws_.seller_mentions,
                                     &ws_.recipient_mentions};
    uint64_t first_bytes[4] = {0, 0, 0, 0};
    uint64_t lengths = 0;
    for (const std::vector<DynPhrase>* list : lists) {
      for (const DynPhrase& p : *list) {
        const absl::string_view w = ws_.dyn_words[p.first];
        const auto b = static_cast<unsigned char>(w[0]);
        first_bytes[b >> 6] |= uint64_t{1} << (b & 63);
        lengths |= uint64_t{1} << std::min<size_t>(w.size(), 63);
      }
    }
    if (lengths == 0) return;
    for (uint8_t f : {kSubject, kBody}) {
      const FieldText& field = ws_.fields[f];
      const auto n = static_cast<uint32_t>(field.tokens.size());
      for (uint32_t i = 0; i < n; ++i) {
        const Token& t = field.tokens[i];
        if (t.region != Region::kScored ||
            (t.kind != TokenKind::kWord && t.kind != TokenKind::kNumber) ||
            !((lengths >> std::min<uint32_t>(t.fold_len, 63)) & 1U)) {
          continue;
        }
        const absl::string_view first = field.Folded(i);
        const auto b0 = static_cast<unsigned char>(first[0]);
        if (!((first_bytes[b0 >> 6] >> (b0 & 63)) & 1U)) continue;
        uint32_t next = i;
        for (int l = 0; l < 2 && next == i; ++l) {
          for (const DynPhrase& p : *lists[l]) {
            const absl::string_view* words = &ws_.dyn_words[p.first];
            if (!text::EqualBytes(words[0], first)) continue;
            uint32_t j = i + 1;
            uint32_t k = 1;
            while (k < p.count && j < n &&
                   field.tokens[j].region == Region::kScored) {
              if (field.tokens[j].kind == TokenKind::kPunct) {
                ++j;
                continue;
              }
              if (!text::EqualBytes(field.Folded(j), words[k])) break;
              ++j;
              ++k;
            }
            if (k < p.count) continue;
            outs[l]->push_back(Mention{f, i, j});
            next = j - 1;
            break;
          }
        }
        i = next;
      }
    }
  }

  // Stems of the profile items (content words only), deduplicated per
  // item, with a bloom filter in front of them.
  void BuildItems() {
    ws_.item_stems.clear();
    ws_.stem_item.clear();
    for (uint64_t& word : ws_.stem_bloom) word = 0;
    ws_.short_stems = false;
    size_t kept = 0;
    for (size_t k = 0; k < ws_.items.size(); ++k) {
      ProfileItem item = ws_.items[k];
      item.first_stem = static_cast<uint32_t>(ws_.item_stems.size());
      const Segment& seg = ws_.segments[items_begin_ + k];
      for (uint32_t t = seg.tok_begin; t < seg.tok_end; ++t) {
        const Token& tok = ws_.ptokens[t];
        if (tok.kind != TokenKind::kWord) continue;
        const absl::string_view folded = text::FoldedText(ws_.pfold, tok);
        const text::PhraseIndex::Head* head = d_.phrases.FindHead(folded);
        if (head != nullptr &&
            (head->roles & (kRoleStopword | kRoleSelf | kRoleRecipient))) {
          continue;
        }
        const absl::string_view stem = Stem(folded);
        if (stem.empty()) continue;
        if (std::any_of(ws_.item_stems.begin() + item.first_stem,
                        ws_.item_stems.end(), [&](absl::string_view s) {
                          return text::EqualBytes(s, stem);
                        })) {
          continue;
        }
        ws_.item_stems.push_back(stem);
        ws_.stem_item.push_back(static_cast<uint32_t>(kept));
        const uint32_t bit = BloomBit(stem);
        ws_.stem_bloom[bit >> 6] |= uint64_t{1} << (bit & 63);
        if (stem.size() < 3) ws_.short_stems = true;
      }
      item.stem_count =
          static_cast<uint32_t>(ws_.item_stems.size()) - item.first_stem;
      if (item.stem_count > 0 && kept < 64) {
        ws_.items[kept++] = item;
      } else {
        ws_.item_stems.resize(item.first_stem);
        ws_.stem_item.resize(item.first_stem);
      }
    }
    ws_.items.resize(kept);
  }

  // Which profile items the draft refers to (subject and scored body), and
  // which body sentences do.
  void MatchItems() {
    BuildItems();
    ws_.trigger_referenced = 0;
    if (ws_.items.empty()) return;
    ws_.item_stem_hits.assign(ws_.items.size(), 0);
    // Hits: per item, a bit per stem position that occurs in the draft.
    std::vector<std::pair<uint32_t, absl::string_view>>& hits =
        ws_.body_stem_hits;
    hits.clear();
    for (uint8_t f : {kSubject, kBody}) {
      const FieldText& field = ws_.fields[f];
      for (uint32_t i = 0; i < field.tokens.size(); ++i) {
        const Token& t = field.tokens[i];
        if (t.region != Region::kScored || t.kind != TokenKind::kWord ||
            (t.roles & kRoleStopword)) {
          continue;
        }
        const absl::string_view word = field.Folded(i);
        const uint32_t bit = BloomBit(word);
        if (!ws_.short_stems &&
            !((ws_.stem_bloom[bit >> 6] >> (bit & 63)) & 1U)) {
          continue;
        }
        const absl::string_view stem = Stem(word);
        bool hit = false;
        for (size_t k = 0; k < ws_.item_stems.size(); ++k) {
          const absl::string_view s = ws_.item_stems[k];
          if (!text::EqualBytes(s, stem)) continue;
          const ProfileItem& item = ws_.items[ws_.stem_item[k]];
          const size_t pos = k - item.first_stem;
          if (pos < 64) {
            ws_.item_stem_hits[ws_.stem_item[k]] |= uint64_t{1} << pos;
          }
          hit = true;
        }
        if (hit && f == kBody) hits.emplace_back(i, stem);
      }
    }
    uint64_t referenced = 0;
    for (size_t k = 0; k < ws_.items.size(); ++k) {
      ProfileItem& item = ws_.items[k];
      item.matched =
          static_cast<uint32_t>(__builtin_popcountll(ws_.item_stem_hits[k]));
      const double need =
          std::max<double>(std::min<uint32_t>(2, item.stem_count),
                           std::ceil(kItemShare * item.stem_count));
      item.referenced = item.matched >= need;
      if (item.referenced) {
        referenced |= uint64_t{1} << k;
        if (item.kind == ItemKind::kTriggerEvent) ++ws_.trigger_referenced;
      }
    }
    // A body sentence using a word of a referenced item is about them.
    for (const auto& [token, stem] : hits) {
      bool about_them = false;
      for (size_t k = 0; k < ws_.item_stems.size() && !about_them; ++k) {
        about_them = ((referenced >> ws_.stem_item[k]) & 1U) &&
                     text::EqualBytes(ws_.item_stems[k], stem);
      }
      if (!about_them) continue;
      const uint32_t s = ws_.token_sentence[token];
      if (s != kNoSentence) ws_.sentence_recipient[s] = 1;
    }
  }

  void ComputeFacts() {
    FieldText& body = ws_.fields[kBody];
    const size_t sentences = body.sentences.size();
    ws_.sentence_recipient.assign(sentences, 0);
    ws_.sentence_change.assign(sentences, 0);
    ws_.sentence_ask.assign(sentences, 0);
    ws_.token_sentence.assign(body.tokens.size(), kNoSentence);
    ws_.values_scratch.assign(sentences, 0);
    // One pass over the sentences' tokens: sentence of each token, seller-
    // and recipient-centred words, syllables (per sentence, kept for the
    // reading-grade detector).
    ws_.self_words = 0;
    ws_.recipient_words = 0;
    int words = 0;
    int counted_sentences = 0;
    int syllables = 0;
    for (uint32_t s = 0; s < sentences; ++s) {
      const text::Sentence& sent = body.sentences[s];
      int syl = 0;
      for (uint32_t i = sent.tok_begin; i < sent.tok_end; ++i) {
        ws_.token_sentence[i] = s;
        const Token& t = body.tokens[i];
        if (t.roles & kRoleSelf) ++ws_.self_words;
        if (t.roles & kRoleRecipient) {
          ++ws_.recipient_words;
          ws_.sentence_recipient[s] = 1;
        }
        if (t.kind == TokenKind::kWord) {
          syl += text::CountSyllables(body.Folded(i));
        } else if (CountsAsWord(t)) {
          syl += t.kind == TokenKind::kNumber ? 2 : 1;
        }
      }
      ws_.values_scratch[s] = syl;
      if (sent.words > 0) {
        words += static_cast<int>(sent.words);
        syllables += syl;
        ++counted_sentences;
      }
    }
    ws_.syllables = syllables;
    ws_.reading_grade =
        text::FleschKincaidGrade(words, counted_sentences, syllables);
    // Mentions of the seller and of the recipient.
    FindMentions();
    for (const Mention& m : ws_.seller_mentions) {
      if (m.field == kBody) ++ws_.self_words;
    }
    for (const Mention& m : ws_.recipient_mentions) {
      if (m.field != kBody) continue;
      ++ws_.recipient_words;
      const uint32_t s = ws_.token_sentence[m.tok_begin];
      if (s != kNoSentence) ws_.sentence_recipient[s] = 1;
    }
    MatchItems();
    // Sentences holding an ask or a change phrase.
    auto mark = [&](int source, std::vector<uint8_t>* flags) {
      auto [b, e] = MatchesOf(source);
      for (const Match* m = b; m != e; ++m) {
        if (m->field != kBody) continue;
        const uint32_t s = SentenceAt(m->start);
        if (s != kNoSentence) (*flags)[s] = 1;
      }
    };
    mark(d_.reserved.ask_phrases, &ws_.sentence_ask);
    mark(d_.reserved.change_phrases, &ws_.sentence_change);
    // Questions.
    ws_.questions.clear();
    const text::TokenSpan span = body.span();
    for (uint32_t s = 0; s < sentences; ++s) {
      const text::Sentence& sent = body.sentences[s];
      if (!sent.question) continue;
      uint32_t first = sent.tok_begin;
      while (first < sent.tok_end &&
             body.tokens[first].kind == TokenKind::kPunct) {
        ++first;
      }
      Question q;
      q.sentence = s;
      // "So how ...", "And what ...": look past one leading stopword.
      size_t opener =
          d_.open_question_openers.LongestAt(span, first, sent.tok_end);
      uint32_t opener_at = first;
      if (opener == 0 && first + 1 < sent.tok_end &&
          (body.tokens[first].roles & kRoleStopword) &&
          d_.closed_question_openers.LongestAt(span, first, sent.tok_end) ==
              0) {
        opener =
            d_.open_question_openers.LongestAt(span, first + 1, sent.tok_end);
        opener_at = first + 1;
      }
      q.open = opener > 0;
      // Seller words make it a question about the seller ("Can we ...?",
      // "Did you get my ...?"); those inside the opener ("I'm curious how
      // ...") do not.
      const uint32_t opener_end =
          q.open ? opener_at + static_cast<uint32_t>(opener) : 0;
      bool self = false;
      for (uint32_t i = sent.tok_begin; i < sent.tok_end; ++i) {
        if ((body.tokens[i].roles & kRoleSelf) &&
            !(i >= opener_at && i < opener_end)) {
          self = true;
        }
      }
      for (const Mention& m : ws_.seller_mentions) {
        if (m.field == kBody && m.tok_begin >= sent.tok_begin &&
            m.tok_begin < sent.tok_end) {
          self = true;
        }
      }
      const bool pitchy =
          d_.non_genuine_questions.LongestAt(span, first, sent.tok_end) > 0;
      q.genuine = ws_.sentence_recipient[s] && !self && !pitchy;
      ws_.questions.push_back(q);
    }
  }

  // ---- Rules --------------------------------------------------------------

  // Sentence of field `f` holding byte `start`, or nullptr.
  const text::Sentence* SentenceOf(uint8_t f, uint32_t start) const {
    const std::vector<text::Sentence>& ss = ws_.fields[f].sentences;
    auto it = std::upper_bound(
        ss.begin(), ss.end(), start,
        [](uint32_t b, const text::Sentence& s) { return b < s.start; });
    if (it == ss.begin()) return nullptr;
    --it;
    return start < it->end ? &*it : nullptr;
  }

  // True when the match [start, end) of field `f` overlaps an exception of
  // rule `r` (searched in the match's sentence).
  bool Excepted(const CompiledRule& r, uint8_t f, uint32_t start,
                uint32_t end) {
    const text::Sentence* s = SentenceOf(f, start);
    if (s == nullptr) return false;
    if (!ws_.norm_built[f]) BuildNormalized(f);
    const auto [begin, stop] = Window(f, s->tok_begin, s->tok_end);
    bool excepted = false;
    ForEachMatch(*r.exceptions, f, begin, stop, [&](size_t ms, size_t me) {
      const auto [xs, xe] = ToOriginal(f, ms, me);
      if (start < xe && xs < end) excepted = true;
    });
    return excepted;
  }

  void RunTextRule(const CompiledRule& r, uint32_t index) {
    const size_t first = ws_.findings.size();
    for (uint32_t source : r.sources) {
      auto [b, e] = MatchesOf(static_cast<int>(source));
      for (const Match* m = b; m != e; ++m) {
        if (m->field == kSubject ? !r.in_subject : !r.in_body) continue;
        RawFinding f;
        f.rule = index;
        f.field = m->field;
        f.start = m->start;
        f.end = m->end;
        ws_.findings.push_back(f);
      }
    }
    if (ws_.findings.size() == first) return;
    auto begin = ws_.findings.begin() + static_cast<std::ptrdiff_t>(first);
    std::sort(begin, ws_.findings.end(),
              [](const RawFinding& a, const RawFinding& b) {
                if (a.field != b.field) return a.field < b.field;
                if (a.start != b.start) return a.start < b.start;
                return a.end > b.end;
              });
    // Drop matches overlapping an earlier one or an exception.
    size_t out = first;
    for (size_t k = first; k < ws_.findings.size(); ++k) {
      const RawFinding f = ws_.findings[k];
      if (out > first && ws_.findings[out - 1].field == f.field &&
          f.start < ws_.findings[out - 1].end) {
        continue;
      }
      if (r.exceptions != nullptr && Excepted(r, f.field, f.start, f.end)) {
        continue;
      }
      ws_.findings[out++] = f;
    }
    ws_.findings.resize(out);
  }

  void RunRules() {
    ws_.findings.clear();
    ws_.x.assign(d_.rules.size(), 0.0);
    const int stage =
        ws_.profile.present ? ws_.profile.stage : common::BUYING_STAGE_UNKNOWN;
    for (uint32_t i = 0; i < d_.rules.size(); ++i) {
      const CompiledRule& r = d_.rules[i];
      if (!r.AppliesTo(channel_)) continue;
      const double mult = r.stage_multiplier[static_cast<size_t>(stage)];
      const size_t first = ws_.findings.size();
      double value = 0;
      if (r.detector == Detector::kNone) {
        RunTextRule(r, i);
      } else {
        value = RunDetector(d_, r, i, channel_, &ws_);
      }
      if (r.info.credit) {
        ws_.findings.resize(first);
        ws_.x[i] = value * mult;
        continue;
      }
      if (ws_.findings.size() - first > static_cast<size_t>(r.max_findings)) {
        ws_.findings.resize(first + static_cast<size_t>(r.max_findings));
      }
      for (size_t k = first; k < ws_.findings.size(); ++k) {
        RawFinding& f = ws_.findings[k];
        value += f.magnitude;
        f.penalty = r.penalty * mult * f.magnitude;
      }
      ws_.x[i] = value * mult;
    }
  }

  // ---- Report -------------------------------------------------------------

  // Formats `v` with 0 or 1 decimals (no snprintf: this runs per draft).
  void SetNumber(size_t slot, Placeholder p, double v, int decimals,
                 Template::Values* values) {
    std::string& s = ws_.number_scratch[slot];
    s.clear();
    const double clamped = std::clamp(v, -1e9, 1e9);
    if (decimals == 0) {
      absl::StrAppend(&s, static_cast<int64_t>(std::llround(clamped)));
    } else {
      const int64_t tenths = std::llround(clamped * 10);
      absl::StrAppend(&s, tenths / 10, ".", std::abs(tenths % 10));
    }
    values->Set(p, View(s));
  }

  // Template values from the profile, the sender and the counts. Profile
  // strings are used as they are when valid UTF-8 and sanitised otherwise.
  void FillValues(Template::Values* values) {
    size_t used = 0;
    auto set = [&](Placeholder p, absl::string_view v) {
      if (text::IsValidUtf8(v)) {
        values->Set(p, v);
        return;
      }
      std::string& s = ws_.sanitized[used++];
      s.clear();
      text::AppendSanitizedUtf8(v, &s);
      values->Set(p, View(s));
    };
    const ProfileView& p = ws_.profile;
    set(Placeholder::kAddressAs, p.address_as);
    set(Placeholder::kPreferredName, p.preferred_name);
    set(Placeholder::kFullName, p.full_name);
    set(Placeholder::kFirstName, p.first_name);
    set(Placeholder::kTitle, p.title);
    set(Placeholder::kCompany, p.company);
    set(Placeholder::kIndustry, p.industry);
    set(Placeholder::kPriority, p.priority);
    set(Placeholder::kChallenge, p.challenge);
    set(Placeholder::kTriggerEvent, p.trigger_event);
    set(Placeholder::kInterest, p.interest);
    set(Placeholder::kSenderCompany, ws_.sender_company);
    set(Placeholder::kProductName, ws_.product_name);
    const ChannelConfig& ch = d_.channels[static_cast<size_t>(channel_)];
    SetNumber(0, Placeholder::kWordCount, ws_.fields[kBody].words, 0, values);
    SetNumber(1, Placeholder::kIdealMaxWords, ch.ideal_max_words, 0, values);
    SetNumber(2, Placeholder::kIdealMinWords, ch.ideal_min_words, 0, values);
    SetNumber(3, Placeholder::kReadingGrade, ws_.reading_grade, 1, values);
    SetNumber(4, Placeholder::kMaxReadingGrade, ch.max_reading_grade, 0,
              values);
    if (p.fatigued || p.wait_seconds > 0) {
      const double days = std::ceil(
          static_cast<double>(std::max<int64_t>(p.wait_seconds, 0)) / 86400.0);
      SetNumber(5, Placeholder::kWaitDays, std::max(days, 1.0), 0, values);
    }
  }

  void Excerpt(const FieldText& field, uint32_t start, uint32_t end,
               std::string* out) {
    out->clear();
    const absl::string_view span = field.text.substr(start, end - start);
    const absl::string_view cut = text::TruncateUtf8(span, kMaxExcerpt);
    if (field.valid_utf8) {
      out->assign(cut.data(), cut.size());
    } else {
      text::AppendSanitizedUtf8(cut, out);
    }
    if (cut.size() < span.size()) out->append("...");
  }

  void BuildReport(v1::ScoreReport* out_report, Signals* signals_out) {
    v1::ScoreReport& report = *out_report;
    report.Clear();
    // Dimension scores and the overall score.
    std::array<double, kDimensionCount> pen{};
    int criticals = 0;
    for (const RawFinding& f : ws_.findings) {
      const CompiledRule& r = d_.rules[f.rule];
      pen[static_cast<size_t>(r.info.dimension)] += f.penalty;
      if (r.info.severity == v1::SEVERITY_CRITICAL) ++criticals;
    }
    std::array<double, kDimensionCount> dim{};
    double raw = 0;
    for (int k = 1; k < kDimensionCount; ++k) {
      dim[k] = std::clamp(100 - pen[k], 0.0, 100.0);
      raw += d_.dimension_weight[k] * dim[k];
    }
    auto capped = [&](double score, int crit) {
      return crit > 0 ? std::min(score, d_.critical_score_cap) : score;
    };
    const double overall = capped(raw, criticals);
    for (RawFinding& f : ws_.findings) {
      const CompiledRule& r = d_.rules[f.rule];
      const auto k = static_cast<size_t>(r.info.dimension);
      const double without = std::clamp(100 - (pen[k] - f.penalty), 0.0, 100.0);
      const double raw_without =
          raw + d_.dimension_weight[k] * (without - dim[k]);
      const int crit =
          criticals - (r.info.severity == v1::SEVERITY_CRITICAL ? 1 : 0);
      f.impact = std::max(0.0, capped(raw_without, crit) - overall);
    }
    std::sort(ws_.findings.begin(), ws_.findings.end(),
              [&](const RawFinding& a, const RawFinding& b) {
                const int sa = d_.rules[a.rule].info.severity;
                const int sb = d_.rules[b.rule].info.severity;
                if (sa != sb) return sa > sb;
                if (a.impact != b.impact) return a.impact > b.impact;
                if (a.field != b.field) return a.field < b.field;
                if (a.start != b.start) return a.start < b.start;
                return a.rule < b.rule;
              });
    if (ws_.findings.size() > kMaxFindings) ws_.findings.resize(kMaxFindings);

    report.set_score(std::round(overall * 100) / 100);
    report.set_rules_version(rules_.version());
    report.set_word_count(static_cast<int32_t>(ws_.fields[kBody].words));
    report.set_reading_grade(std::round(ws_.reading_grade * 10) / 10);
    if (in_.profile != nullptr) {
      report.set_profile_version(in_.profile->version());
    }

    // Reply probability from the learned weights when usable.
    const bool learned = weights_.weight.size() == d_.rules.size() &&
                         weights_.rules_version == rules_.version() &&
                         weights_.outcomes_learned >= d_.min_outcomes;
    double z = learned ? weights_.intercept : d_.intercept;
    for (size_t i = 0; i < ws_.x.size(); ++i) {
      if (ws_.x[i] == 0) continue;
      z += ws_.x[i] *
           (learned ? weights_.weight[i] : d_.rules[i].info.default_weight);
    }
    report.set_reply_probability(1.0 /
                                 (1.0 + std::exp(-std::clamp(z, -50.0, 50.0))));
    report.set_model_version(learned ? weights_.version : 0);

    Template::Values values;
    FillValues(&values);
    // Room for every element up front: a fresh report then grows nothing.
    report.mutable_dimensions()->Reserve(kDimensionCount - 1);
    report.mutable_findings()->Reserve(static_cast<int>(ws_.findings.size()));
    // Dimensions, in Dimension order, with a one-line summary (composed in
    // a scratch string and copied once; an empty one is not set at all).
    for (int k = 1; k < kDimensionCount; ++k) {
      v1::DimensionScore* ds = report.add_dimensions();
      ds->set_dimension(static_cast<v1::Dimension>(k));
      ds->set_score(dim[k]);
      ds->set_weight(d_.dimension_weight[k]);
      std::string* summary = &ws_.text_scratch;
      summary->clear();
      int listed = 0;
      uint32_t last_rule = UINT32_MAX;
      for (const RawFinding& f : ws_.findings) {
        const CompiledRule& r = d_.rules[f.rule];
        if (r.info.dimension != k || f.rule == last_rule || listed >= 3) {
          continue;
        }
        if (summary->find(r.info.title) != std::string::npos) continue;
        if (!summary->empty()) summary->append("; ");
        summary->append(r.info.title);
        last_rule = f.rule;
        ++listed;
      }
      if (listed == 0) {
        for (size_t i = 0; i < d_.rules.size(); ++i) {
          const CompiledRule& r = d_.rules[i];
          if (!r.info.credit || r.info.dimension != k || ws_.x[i] <= 0) {
            continue;
          }
          if (!summary->empty()) summary->append("; ");
          summary->append(r.info.title);
        }
      }
      if (!summary->empty()) ds->set_summary(*summary);
    }
    // Findings.
    for (const RawFinding& f : ws_.findings) {
      const CompiledRule& r = d_.rules[f.rule];
      v1::Finding* out = report.add_findings();
      out->set_rule_id(r.info.id);
      out->set_severity(r.info.severity);
      out->set_dimension(r.info.dimension);
      out->set_impact(std::round(f.impact * 100) / 100);
      if (f.field == kNoField) {
        out->set_field(v1::MESSAGE_FIELD_NONE);
        values.Set(Placeholder::kMatch, {});
      } else {
        const FieldText& field = ws_.fields[f.field];
        out->set_field(f.field == kSubject ? v1::MESSAGE_FIELD_SUBJECT
                                           : v1::MESSAGE_FIELD_BODY);
        out->set_start(f.start);
        out->set_end(f.end);
        Excerpt(field, f.start, f.end, out->mutable_excerpt());
        values.Set(Placeholder::kMatch, out->excerpt());
      }
      r.explanation.Render(values, out->mutable_explanation());
      if (r.suggestion.CanRender(values) || r.fallback_suggestion.empty()) {
        r.suggestion.Render(values, out->mutable_suggestion());
      } else {
        r.fallback_suggestion.Render(values, out->mutable_suggestion());
      }
      if (!r.replacement.empty() && r.replacement.CanRender(values) &&
          f.field != kNoField) {
        r.replacement.Render(values, out->mutable_replacement());
      }
    }
    if (signals_out != nullptr) signals_out->x = ws_.x;
  }

  const ScoreInput& in_;
  const CompiledRules& rules_;
  const CompiledRulesData& d_;
  const ModelWeights& weights_;
  Workspace& ws_;
  int channel_ = common::CHANNEL_EMAIL;
  size_t items_begin_ = 0;  // first item segment
};

}  // namespace

v1::ScoreReport Score(const ScoreInput& in, const CompiledRules& rules,
                      const ModelWeights& weights, Signals* signals_out) {
  v1::ScoreReport report;
  Scorer(in, rules, weights, &ThreadWorkspace()).Run(&report, signals_out);
  return report;
}

void Score(const ScoreInput& in, const CompiledRules& rules,
           const ModelWeights& weights, v1::ScoreReport* report,
           Signals* signals_out) {
  Scorer(in, rules, weights, &ThreadWorkspace()).Run(report, signals_out);
}

profile::Profile ProfileFromContact(const common::Contact& contact) {
  profile::Profile p;
  *p.mutable_contact() = contact;
  p.set_stage(common::BUYING_STAGE_UNKNOWN);
  return p;
}

}  // namespace rapport::scoring::engine

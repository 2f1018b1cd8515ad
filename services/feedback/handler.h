#pragma once

// The request logic of feedback-service as plain functions over the store,
// the respect check and the pure digest: validate, check, store, answer
// (STYLE.md #1). No gRPC types here; service.cc adapts these to the callback
// API, watch.cc streams.

#include <prometheus/counter.h>
#include <prometheus/gauge.h>
#include <prometheus/registry.h>

#include <array>
#include <functional>
#include <memory>
#include <string>

#include "absl/base/thread_annotations.h"
#include "absl/functional/any_invocable.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "common/auth/auth.h"
#include "rapport/feedback/v1/feedback.pb.h"
#include "services/feedback/respect/respect.h"
#include "services/feedback/store.h"

namespace rapport::feedback {

// Number of Team values (TEAM_UNSPECIFIED .. TEAM_MANAGEMENT) and kinds:
// the label sets of the metrics below are exactly these closed enums.
inline constexpr int kTeamCount = common::v1::Team_ARRAYSIZE;
inline constexpr int kKindCount = v1::FeedbackKind_ARRAYSIZE;

// Counters of the request path, label sets resolved once (STYLE.md #7).
class FeedbackMetrics {
 public:
  explicit FeedbackMetrics(prometheus::Registry& registry);

  // rapport_feedback_submitted_total{team,kind}: items stored.
  prometheus::Counter& Submitted(common::v1::Team team, v1::FeedbackKind kind);
  // rapport_feedback_respect_flags_total{author_team,target_team}.
  prometheus::Counter& RespectFlag(common::v1::Team author,
                                   common::v1::Team target);

  prometheus::Counter& duplicates;        // idempotent replays answered
  prometheus::Counter& lexicon_reloaded;  // SIGHUP reloads, by result
  prometheus::Counter& lexicon_rejected;
  prometheus::Gauge& watchers;              // open WatchFeedback streams
  prometheus::Counter& unreadable_entries;  // stream entries skipped

 private:
  std::array<std::array<prometheus::Counter*, kKindCount>, kTeamCount>
      submitted_{};
  std::array<std::array<prometheus::Counter*, kTeamCount>, kTeamCount>
      respect_flags_{};
};

struct HandlerOptions {
  // ListFeedback: most entries one call examines when the filter matches
  // few; past it the call answers a short page and a token to go on.
  int list_scan_budget = 5000;
  // GetDigest: most items read for one digest. A tenant with more items in
  // one period gets a digest of the first ones (logged as
  // digest_truncated).
  int digest_max_items = 200'000;
  // Clock, replaceable in tests.
  std::function<absl::Time()> now = [] { return absl::Now(); };
};

// Where a WatchFeedback stream starts.
struct WatchStart {
  std::string stream_key;
  std::string after_id;
  v1::FeedbackFilter filter;
};

class FeedbackHandler {
 public:
  FeedbackHandler(FeedbackStore& store, FeedbackMetrics& metrics,
                  std::shared_ptr<const respect::RespectChecker> checker,
                  HandlerOptions options = {});

  // SubmitFeedback in two steps, so the gRPC adapter can answer from the
  // store's I/O thread (DESIGN.md "Performance notes"): PrepareSubmit checks
  // the caller, validates, normalizes and respect-checks on the calling
  // thread; StoreSubmit appends and fills `response`, and `done` runs once,
  // when Redis has answered (or at once when nothing is to be stored:
  // validate_only). OK means the item is stored: never earlier.
  struct SubmitPlan {
    std::string tenant;
    v1::Feedback item;  // normalized, warnings and flagged set
    bool store = true;  // false: validate_only, `response` is complete
  };
  using SubmitDone = absl::AnyInvocable<void(absl::Status) &&>;
  absl::StatusOr<SubmitPlan> PrepareSubmit(
      const auth::Principal& principal,
      const v1::SubmitFeedbackRequest& request,
      v1::SubmitFeedbackResponse* response);
  // `response` must stay valid until `done` has run.
  void StoreSubmit(SubmitPlan plan, v1::SubmitFeedbackResponse* response,
                   SubmitDone done);
  // Both steps, waiting for the answer (tests and tools).
  absl::Status SubmitFeedback(const auth::Principal& principal,
                              const v1::SubmitFeedbackRequest& request,
                              v1::SubmitFeedbackResponse* response);
  absl::Status ListFeedback(absl::string_view tenant,
                            const v1::ListFeedbackRequest& request,
                            v1::ListFeedbackResponse* response);
  absl::Status GetDigest(absl::string_view tenant,
                         const v1::GetDigestRequest& request,
                         v1::Digest* response);
  // Validates a WatchFeedbackRequest and resolves where it starts ("now" is
  // the newest entry's id at the time of the call).
  absl::StatusOr<WatchStart> PrepareWatch(
      absl::string_view tenant, const v1::WatchFeedbackRequest& request);

  // The respect checker in use; swapped on SIGHUP while calls in flight
  // finish with the old one.
  std::shared_ptr<const respect::RespectChecker> checker() const;
  void SetChecker(std::shared_ptr<const respect::RespectChecker> checker);

  FeedbackStore& store() { return store_; }
  FeedbackMetrics& metrics() { return metrics_; }

 private:
  FeedbackStore& store_;
  FeedbackMetrics& metrics_;
  HandlerOptions options_;

  mutable absl::Mutex mu_;
  std::shared_ptr<const respect::RespectChecker> checker_ ABSL_GUARDED_BY(mu_);
};

// Opaque ListFeedback page tokens: the last stream id examined, bound to
// the filter it was issued for.
std::string EncodePageToken(absl::string_view last_id,
                            const v1::FeedbackFilter& filter);
absl::StatusOr<std::string> DecodePageToken(absl::string_view token,
                                            const v1::FeedbackFilter& filter);

// XRANGE bounds for a filter's [start_time, end_time): "-"/"+" when unset.
// `empty` is set when no id can fall in the range.
std::string RangeMin(const v1::FeedbackFilter& filter);
std::string RangeMax(const v1::FeedbackFilter& filter, bool* empty);

}  // namespace rapport::feedback

#pragma once

// A bidirectional stream that answers every request with one message, in
// request order: ScoringService.ScoreMessages, and EchoStream, its baseline
// in bench/echo_server.cc (both run this same code, so the baseline costs
// what the service's stream handling costs).
//
// Up to kWindow requests are read ahead of their answers, so they can be
// answered concurrently and on any thread; reading stops while kWindow wait
// to be written, so a client that stops reading stops the server reading
// too (HTTP/2 flow control then holds it back) and memory per stream stays
// bounded whatever the client does. Answers are written one at a time
// (gRPC allows one write in flight per stream), the oldest first. gRPC is
// never called under the reactor's lock.
//
// The stream ends:
// - OK when the client has half-closed and every answer is written;
// - with EndAfterAnswers()'s status (a request that cannot be answered at
//   all) once every answer queued before it is written;
// - with Answered()'s failure, or CANCELLED when a write fails (the client
//   went away), without writing what is still queued.
// It finishes only once no answer is pending, so work in flight may still
// touch its item until it calls Answered().
//
// Use: derive, implement OnRequest, call StartReading() last in the
// constructor, return the object from the method with `new`; it deletes
// itself when done.
#include <grpcpp/support/server_callback.h>
#include <grpcpp/support/status.h>

#include <cstddef>
#include <deque>
#include <memory>
#include <optional>
#include <utility>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"

namespace rapport::server {

template <typename In, typename Out>
class OrderedStreamReactor : public grpc::ServerBidiReactor<In, Out> {
 public:
  // Requests read and not yet answered (written), per stream.
  static constexpr size_t kWindow = 32;

  // What one request keeps until its answer is written: derive from it to
  // keep more (the parsed request, say).
  struct Item {
    virtual ~Item() = default;
    Out out;  // the answer, written once Answered()
    bool answered = false;
  };

 protected:
  void StartReading() { this->StartRead(&in_); }

  // The request just read, in `in` (reused by the next read once this
  // returns). Answer it with Queue(), or end the stream with
  // EndAfterAnswers(). Runs on a gRPC thread, one request at a time.
  virtual void OnRequest(In& in) = 0;

  // Takes `item` as the answer to the request being handled (from
  // OnRequest only) and returns it. With `answered`, item->out is ready;
  // otherwise fill it and call Answered(item) later, from any thread.
  template <typename T>
  T* Queue(std::unique_ptr<T> item, bool answered) {
    T* raw = item.get();
    absl::MutexLock lock(&mu_);
    raw->answered = answered;
    if (!answered) ++pending_;
    items_.push_back(std::move(item));
    return raw;
  }

  // item->out is ready (and written in its turn); or, with a failure, the
  // stream ends with it instead.
  void Answered(Item* item, const grpc::Status& failure = grpc::Status::OK) {
    Update([&] {
      item->answered = true;
      --pending_;
      if (!failure.ok()) End(failure, /*drain=*/false);
    });
  }

  // From OnRequest: reads stop and the stream ends with `status` once the
  // answers queued before are written.
  void EndAfterAnswers(const grpc::Status& status) {
    Update([&] { End(status, /*drain=*/true); });
  }

 private:
  void OnReadDone(bool ok) final {
    if (!ok) {  // the client finished sending
      Update([&] {
        reading_ = false;
        reads_done_ = true;
      });
      return;
    }
    {
      // A read that completed as the stream was finishing: no new work.
      absl::MutexLock lock(&mu_);
      if (finished_) return;
    }
    OnRequest(in_);
    Update([&] { reading_ = false; });
  }

  void OnWriteDone(bool ok) final {
    Update([&] {
      writing_ = false;
      items_.pop_front();
      // The client went away: nothing more is read or written.
      if (!ok) {
        End(grpc::Status(grpc::StatusCode::CANCELLED, "stream closed"),
            /*drain=*/false);
      }
    });
  }

  void OnDone() final { delete this; }

  // Stops reading; the stream ends with `status` once nothing is pending
  // or being written, and, with `drain`, once the items queued are written.
  // The first end wins.
  void End(grpc::Status status, bool drain) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    reads_done_ = true;
    if (end_.ok()) {
      end_ = std::move(status);
      drain_ = drain;
    }
  }

  // Applies `change` under mu_, then starts what can start now, after mu_
  // is released: the next write (answers go out in request order), the
  // next read (while the window has room), or the end of the stream (when
  // nothing is read, pending or written).
  template <typename Fn>
  void Update(Fn change) {
    const Out* write = nullptr;
    bool read = false;
    std::optional<grpc::Status> finish;
    {
      absl::MutexLock lock(&mu_);
      change();
      if (finished_) return;
      const bool answering = end_.ok() || drain_;
      if (!writing_ && answering && !items_.empty() &&
          items_.front()->answered) {
        writing_ = true;
        write = &items_.front()->out;
      }
      if (!reads_done_ && !reading_ && items_.size() < kWindow) {
        reading_ = true;
        read = true;
      }
      // A read still pending after an error is cancelled by Finish.
      if (reads_done_ && !writing_ && pending_ == 0 &&
          (items_.empty() || !answering)) {
        finished_ = true;
        finish = end_;
      }
    }
    if (write != nullptr) this->StartWrite(write);
    if (read) this->StartRead(&in_);
    if (finish.has_value()) this->Finish(*finish);
  }

  In in_;  // the read in progress (one at a time)
  absl::Mutex mu_;
  std::deque<std::unique_ptr<Item>> items_ ABSL_GUARDED_BY(mu_);
  size_t pending_ ABSL_GUARDED_BY(mu_) = 0;   // queued, not yet answered
  bool reading_ ABSL_GUARDED_BY(mu_) = true;  // StartReading()'s read
  bool writing_ ABSL_GUARDED_BY(mu_) = false;
  bool reads_done_ ABSL_GUARDED_BY(mu_) = false;
  bool finished_ ABSL_GUARDED_BY(mu_) = false;
  grpc::Status end_ ABSL_GUARDED_BY(mu_);  // how the stream ends
  bool drain_ ABSL_GUARDED_BY(mu_) = true;
};

}  // namespace rapport::server

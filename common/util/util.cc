#include "common/util/util.h"

#include <google/protobuf/io/coded_stream.h>
#include <google/protobuf/io/zero_copy_stream_impl_lite.h>

#include <algorithm>
#include <string>

namespace rapport::util {

google::protobuf::Timestamp ToTimestamp(absl::Time t) {
  // ToUnixSeconds rounds toward the past, so nanos is never negative.
  const int64_t seconds = absl::ToUnixSeconds(t);
  google::protobuf::Timestamp ts;
  ts.set_seconds(seconds);
  ts.set_nanos(static_cast<int32_t>(
      absl::ToInt64Nanoseconds(t - absl::FromUnixSeconds(seconds))));
  return ts;
}

absl::Time FromTimestamp(const google::protobuf::Timestamp& ts) {
  return absl::FromUnixSeconds(ts.seconds()) + absl::Nanoseconds(ts.nanos());
}

absl::BitGen& ThreadBitGen() {
  thread_local absl::BitGen gen;
  return gen;
}

void AppendLengthDelimitedHeader(int number, size_t length, std::string* out) {
  using google::protobuf::io::CodedOutputStream;
  constexpr uint32_t kLengthDelimited = 2;  // the wire type
  constexpr size_t kMaxVarint32Bytes = 5;
  uint8_t head[2 * kMaxVarint32Bytes];
  uint8_t* end = CodedOutputStream::WriteVarint32ToArray(
      (static_cast<uint32_t>(number) << 3) | kLengthDelimited, head);
  end = CodedOutputStream::WriteVarint32ToArray(static_cast<uint32_t>(length),
                                                end);
  out->append(reinterpret_cast<const char*>(head),
              static_cast<size_t>(end - head));
}

uint64_t StableFingerprint(const google::protobuf::Message& message) {
  std::string bytes;
  {
    google::protobuf::io::StringOutputStream stream(&bytes);
    google::protobuf::io::CodedOutputStream out(&stream);
    out.SetSerializationDeterministic(true);
    message.SerializeToCodedStream(&out);
  }
  uint64_t h = 14695981039346656037ULL;
  for (unsigned char c : bytes) {
    h ^= c;
    h *= 1099511628211ULL;
  }
  return h;
}

absl::Duration JitteredBackoff(int attempt, absl::Duration base,
                               absl::Duration cap) {
  const absl::Duration ceiling =
      std::min(cap, base * (int64_t{1} << std::clamp(attempt, 0, 30)));
  return absl::Microseconds(
      absl::Uniform<int64_t>(absl::IntervalClosed, ThreadBitGen(), 0,
                             absl::ToInt64Microseconds(ceiling)));
}

}  // namespace rapport::util

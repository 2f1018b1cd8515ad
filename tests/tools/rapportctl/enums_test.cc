#include "tools/rapportctl/enums.h"

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "rapport/common/v1/common.pb.h"
#include "rapport/profile/v1/profile.pb.h"

namespace rapport::ctl {
namespace {

using rapport::common::v1::BuyingStage_descriptor;
using rapport::common::v1::Outcome_descriptor;
using rapport::profile::v1::Direction_descriptor;
using rapport::profile::v1::InteractionKind_descriptor;
using ::testing::HasSubstr;

TEST(ParseEnumTest, MatchesSuffixCaseInsensitively) {
  const auto& kind = *InteractionKind_descriptor();
  EXPECT_EQ(*ParseEnum(kind, "email_sent"),
            rapport::profile::v1::INTERACTION_KIND_EMAIL_SENT);
  EXPECT_EQ(*ParseEnum(kind, "Email-Replied"),
            rapport::profile::v1::INTERACTION_KIND_EMAIL_REPLIED);
  EXPECT_EQ(*ParseEnum(kind, "INTERACTION_KIND_MEETING"),
            rapport::profile::v1::INTERACTION_KIND_MEETING);
  EXPECT_EQ(*ParseEnum(kind, " linkedin message "),
            rapport::profile::v1::INTERACTION_KIND_LINKEDIN_MESSAGE);
  // A shorter unique ending works too.
  EXPECT_EQ(*ParseEnum(kind, "sent"),
            rapport::profile::v1::INTERACTION_KIND_EMAIL_SENT);
  EXPECT_EQ(*ParseEnum(*Direction_descriptor(), "outbound"),
            rapport::profile::v1::DIRECTION_OUTBOUND);
}

TEST(ParseEnumTest, MatchesWholeWordsOnly) {
  // "aware" is PROBLEM_AWARE, never UNAWARE: matches start after a '_'.
  EXPECT_EQ(*ParseEnum(*BuyingStage_descriptor(), "aware"),
            rapport::common::v1::BUYING_STAGE_PROBLEM_AWARE);
  EXPECT_EQ(*ParseEnum(*BuyingStage_descriptor(), "unaware"),
            rapport::common::v1::BUYING_STAGE_UNAWARE);
  EXPECT_FALSE(ParseEnum(*InteractionKind_descriptor(), "ent").ok());
}

TEST(ParseEnumTest, AmbiguousAndUnknownValuesListChoices) {
  const auto ambiguous = ParseEnum(*Outcome_descriptor(), "reply");
  ASSERT_FALSE(ambiguous.ok());
  EXPECT_THAT(ambiguous.status().message(), HasSubstr("ambiguous"));
  EXPECT_THAT(ambiguous.status().message(), HasSubstr("positive_reply"));
  // The prefixed exact name wins over other suffix matches.
  EXPECT_EQ(*ParseEnum(*Outcome_descriptor(), "replied"),
            rapport::common::v1::OUTCOME_REPLIED);

  const auto unknown = ParseEnum(*InteractionKind_descriptor(), "fax");
  ASSERT_FALSE(unknown.ok());
  EXPECT_THAT(unknown.status().message(),
              HasSubstr("email_sent, email_replied, call, meeting"));
  EXPECT_FALSE(ParseEnum(*InteractionKind_descriptor(), "").ok());
}

TEST(ParseEnumTest, UnspecifiedOnlyByFullName) {
  EXPECT_FALSE(ParseEnum(*InteractionKind_descriptor(), "unspecified").ok());
  EXPECT_EQ(
      *ParseEnum(*InteractionKind_descriptor(), "INTERACTION_KIND_UNSPECIFIED"),
      0);
}

TEST(EnumNamesTest, PrefixAndShortNames) {
  EXPECT_EQ(EnumPrefix(*InteractionKind_descriptor()), "INTERACTION_KIND_");
  EXPECT_EQ(EnumPrefix(*BuyingStage_descriptor()), "BUYING_STAGE_");
  EXPECT_EQ(ShortEnumName(*BuyingStage_descriptor(),
                          rapport::common::v1::BUYING_STAGE_PROBLEM_AWARE),
            "problem_aware");
  EXPECT_EQ(ShortEnumName(*BuyingStage_descriptor(), 99), "99");
  EXPECT_THAT(EnumChoices(*Direction_descriptor()), "inbound, outbound");
}

}  // namespace
}  // namespace rapport::ctl

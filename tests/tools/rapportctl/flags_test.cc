#include "tools/rapportctl/flags.h"

#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace rapport::ctl {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;

TEST(ArgsTest, TakesValuesInBothForms) {
  Args args({"c1", "--full-name", "Mitchell Grant", "--title=VP Sales",
             "--priority", "a", "--priority=b", "--json"});
  EXPECT_EQ(args.Take("full-name"), "Mitchell Grant");
  EXPECT_EQ(args.Flag("title"), "VP Sales");
  EXPECT_EQ(args.Flag("company", "none"), "none");
  EXPECT_THAT(args.TakeAll("priority"), ElementsAre("a", "b"));
  EXPECT_TRUE(args.Switch("json"));
  std::vector<std::string> rest;
  ASSERT_TRUE(args.Finish(&rest));
  EXPECT_THAT(rest, ElementsAre("c1"));
}

TEST(ArgsTest, SwitchesAndBooleans) {
  Args args({"--do-not-contact", "--all=false", "--dnc", "yes"});
  EXPECT_EQ(args.TakeSwitch("do-not-contact"), true);
  EXPECT_EQ(args.TakeSwitch("all"), false);
  EXPECT_EQ(args.TakeSwitch("missing"), std::nullopt);
  EXPECT_EQ(args.TakeBool("dnc"), true);
  std::vector<std::string> rest;
  EXPECT_TRUE(args.Finish(&rest));
  EXPECT_THAT(rest, IsEmpty());
}

TEST(ArgsTest, UsageErrorsAreCollected) {
  Args args({"--page-size", "9999", "--topic", "--at", "now", "--bogus",
             "--fatigued", "perhaps"});
  EXPECT_EQ(args.TakeInt("page-size", 0, 500), std::nullopt);
  EXPECT_THAT(args.TakeAll("topic"), IsEmpty());
  EXPECT_EQ(args.Take("at"), "now");
  EXPECT_EQ(args.TakeBool("fatigued"), std::nullopt);
  std::vector<std::string> rest;
  EXPECT_FALSE(args.Finish(&rest));
  ASSERT_EQ(args.errors().size(), 4u);
  EXPECT_THAT(args.errors()[0], HasSubstr("--page-size must be"));
  EXPECT_THAT(args.errors()[1], HasSubstr("--topic needs a value"));
  EXPECT_THAT(args.errors()[2], HasSubstr("--fatigued takes true or false"));
  EXPECT_THAT(args.errors()[3], HasSubstr("unknown flag --bogus"));
}

TEST(ParseBoolTest, ReadsCrmSpellings) {
  EXPECT_EQ(ParseBool("TRUE"), true);
  EXPECT_EQ(ParseBool(" yes "), true);
  EXPECT_EQ(ParseBool("1"), true);
  EXPECT_EQ(ParseBool("No"), false);
  EXPECT_EQ(ParseBool("0"), false);
  EXPECT_EQ(ParseBool("checked"), std::nullopt);
}

}  // namespace
}  // namespace rapport::ctl

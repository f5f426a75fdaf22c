// The login error table: every row sourced and explained, lookups by number and state, and only
// 18456 proving the path with dummy credentials.
#include "reports/login_errors.h"

#include <gtest/gtest.h>

#include <set>
#include <string>
#include <utility>

using namespace midiag::reports;

namespace {

std::string row_name(const LoginErrorInfo& r) {
  return std::to_string(r.number) + (r.state ? "/" + std::to_string(*r.state) : "");
}

}  // namespace

TEST(LoginErrors, EveryRowIsExplainedAndSourced) {
  ASSERT_FALSE(login_error_table().empty());
  for (const auto& r : login_error_table()) {
    EXPECT_FALSE(r.meaning.empty()) << row_name(r);
    EXPECT_FALSE(r.remediation.empty()) << row_name(r);
    // "Title — https://learn.microsoft.com/...": a title, then the Microsoft Learn address.
    auto dash = r.reference.find(" — https://learn.microsoft.com/");
    EXPECT_NE(dash, std::string_view::npos) << row_name(r) << ": " << r.reference;
    EXPECT_GT(dash, 0u) << row_name(r) << " has no title";
    auto url = r.reference.find("https://", dash);
    EXPECT_EQ(r.reference.find(' ', url), std::string_view::npos)
        << row_name(r) << ": the address must end the reference";
    EXPECT_NE(to_string(r.cls), "unknown") << row_name(r);
  }
}

TEST(LoginErrors, OneRowPerNumberAndState) {
  std::set<std::pair<int, int>> seen;
  for (const auto& r : login_error_table())
    EXPECT_TRUE(seen.insert({r.number, r.state.value_or(-1)}).second)
        << "duplicate " << row_name(r);
}

TEST(LoginErrors, EveryStateSpecificNumberHasAGeneralRow) {
  for (const auto& r : login_error_table()) {
    if (!r.state) continue;
    const auto* general = find_login_error(r.number, -12345);
    ASSERT_NE(general, nullptr) << row_name(r);
    EXPECT_FALSE(general->state) << row_name(r);
  }
}

TEST(LoginErrors, SpecRequiredNumbersArePresent) {
  // PRODUCT.md §5 names these.
  for (int n : {18456, 18452, 18470, 18486, 18487, 18488, 4060, 40532, 40613}) {
    const auto* r = find_login_error(n, 1);
    ASSERT_NE(r, nullptr) << n;
    EXPECT_EQ(r->number, n);
  }
}

TEST(LoginErrors, StateSpecificRowBeatsTheGeneralOne) {
  const auto* pw = find_login_error(18456, 8);
  ASSERT_NE(pw, nullptr);
  ASSERT_TRUE(pw->state.has_value());
  EXPECT_EQ(*pw->state, 8);
  EXPECT_NE(std::string(pw->meaning).find("password"), std::string::npos);

  const auto* db = find_login_error(18456, 38);
  ASSERT_NE(db, nullptr);
  EXPECT_EQ(db->state, 38);
  EXPECT_EQ(db->cls, LoginErrorClass::DatabaseUnavailable);
}

TEST(LoginErrors, StateRangesAreExpandedToEveryState) {
  for (int s = 102; s <= 111; ++s) {
    const auto* r = find_login_error(18456, s);
    ASSERT_NE(r, nullptr) << s;
    EXPECT_EQ(r->state, s);
    EXPECT_NE(std::string(r->meaning).find("Entra"), std::string::npos) << s;
  }
  for (int s : {122, 123, 124, 132, 133}) {
    const auto* r = find_login_error(18456, s);
    ASSERT_NE(r, nullptr) << s;
    EXPECT_EQ(r->state, s);
  }
  // Between the ranges: no Microsoft source, so the general row answers.
  const auto* gap = find_login_error(18456, 112);
  ASSERT_NE(gap, nullptr);
  EXPECT_FALSE(gap->state);
}

TEST(LoginErrors, UnknownStateFallsBackToTheGeneralRow) {
  const auto* r = find_login_error(18456, 9999);
  ASSERT_NE(r, nullptr);
  EXPECT_EQ(r->number, 18456);
  EXPECT_FALSE(r->state);
  EXPECT_EQ(r->cls, LoginErrorClass::CredentialsRejected);

  // A number with only a general row answers it for any state.
  const auto* w = find_login_error(40532, 1);
  ASSERT_NE(w, nullptr);
  EXPECT_FALSE(w->state);
  EXPECT_EQ(w->cls, LoginErrorClass::WrongTarget);
}

TEST(LoginErrors, UnknownNumberIsNull) {
  EXPECT_EQ(find_login_error(0, 0), nullptr);
  EXPECT_EQ(find_login_error(12345, 1), nullptr);
  EXPECT_EQ(find_login_error(-18456, 8), nullptr);
}

TEST(LoginErrors, OnlyLoginFailedProvesThePath) {
  EXPECT_TRUE(proves_path_with_dummy_credentials(18456));
  for (const auto& r : login_error_table()) {
    if (r.number != 18456) {
      EXPECT_FALSE(proves_path_with_dummy_credentials(r.number)) << row_name(r);
    }
  }
  EXPECT_FALSE(proves_path_with_dummy_credentials(0));
  EXPECT_FALSE(proves_path_with_dummy_credentials(12345));
}

TEST(LoginErrors, ClassesSayWhatAnsweredAndWhy) {
  struct Case {
    int number;
    LoginErrorClass cls;
  } cases[] = {
      {18452, LoginErrorClass::CredentialsRejected}, {18470, LoginErrorClass::CredentialsRejected},
      {18486, LoginErrorClass::CredentialsRejected}, {18487, LoginErrorClass::CredentialsRejected},
      {18488, LoginErrorClass::CredentialsRejected}, {4060, LoginErrorClass::DatabaseUnavailable},
      {4064, LoginErrorClass::DatabaseUnavailable},  {40613, LoginErrorClass::ServiceUnavailable},
      {40501, LoginErrorClass::Throttled},           {40615, LoginErrorClass::AccessRuleRejected},
      {40914, LoginErrorClass::AccessRuleRejected},  {40532, LoginErrorClass::WrongTarget},
  };
  for (const auto& c : cases) {
    const auto* r = find_login_error(c.number, 1);
    ASSERT_NE(r, nullptr) << c.number;
    EXPECT_EQ(r->cls, c.cls) << c.number << " is " << to_string(r->cls);
  }
}

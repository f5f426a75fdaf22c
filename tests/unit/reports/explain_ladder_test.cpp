// A TTL ladder's placement of a reset, read by the TCP explain rule (no capture: the ladder alone).
#include <gtest/gtest.h>

#include <algorithm>

#include "reports/explain.h"
#include "reports/report.h"

using namespace midiag;
using namespace midiag::reports;

namespace {

const std::string kFar = "10.250.4.10";

tcp::Result probe(std::uint16_t port, tcp::State state) {
  tcp::Result r;
  r.target = {kFar, port, port == 1433 ? tcp::Role::Gateway : tcp::Role::Custom};
  r.state = state;
  r.rtt_ms = 0.4;
  if (state == tcp::State::Refused) r.detail = "connection refused (RST)";
  return r;
}

trace::Hop hop(int ttl, trace::HopKind kind, std::string address) {
  trace::Hop h;
  h.ttl = ttl;
  h.kind = kind;
  h.address = std::move(address);
  return h;
}

// The far host two routers away; the reset drawn at `reset_ttl` (3 = the host's own distance).
Evidence far_refused(int reset_ttl) {
  Evidence ev;
  ev.target = *parse_target("mifar.lab0001.database.windows.net");
  ev.addresses = {kFar};
  ev.tcp = {probe(1433, tcp::State::Refused), probe(3342, tcp::State::Open)};
  trace::ResetLadder l;
  l.plan = {kFar, 1433, 3342};
  l.refused.target = {kFar, 1433};
  l.working = trace::Result{};
  l.working->target = {kFar, 3342};
  const char* routers[] = {"10.250.1.1", "10.250.3.2"};
  for (int ttl = 1; ttl < reset_ttl; ++ttl)
    l.refused.path.push_back(hop(ttl, trace::HopKind::TimeExceeded, routers[ttl - 1]));
  l.refused.path.push_back(hop(reset_ttl, trace::HopKind::Reset, kFar));
  for (int ttl = 1; ttl < 3; ++ttl)
    l.working->path.push_back(hop(ttl, trace::HopKind::TimeExceeded, routers[ttl - 1]));
  l.working->path.push_back(hop(3, trace::HopKind::SynAck, kFar));
  l.place = trace::place_reset(l.refused, &*l.working);
  ev.ladders.push_back(std::move(l));
  return ev;
}

const Finding* find(const std::vector<Finding>& all, Code c) {
  auto it = std::find_if(all.begin(), all.end(), [c](const Finding& f) { return f.code == c; });
  return it == all.end() ? nullptr : &*it;
}

bool any_evidence(const Finding& f, const std::string& text) {
  return std::any_of(f.evidence.begin(), f.evidence.end(),
                     [&](const std::string& e) { return e.find(text) != std::string::npos; });
}

}  // namespace

TEST(ExplainLadder, ResetPlacedBeforeTheTargetIsAMiddleboxNamingTheHop) {
  const auto findings = explain(far_refused(2));
  const Finding* f = find(findings, Code::TcpResetByMiddlebox);
  ASSERT_NE(f, nullptr);
  EXPECT_EQ(find(findings, Code::TcpRefused), nullptr) << "the refusal is the middlebox's";
  EXPECT_EQ(f->severity, Severity::Error);
  EXPECT_EQ(f->title.find("Likely"), std::string::npos) << f->title;
  EXPECT_TRUE(any_evidence(*f, "at or just after 10.250.1.1 (hop 1)"));
  EXPECT_NE(f->detail.find("TTL ladder"), std::string::npos) << f->detail;
  EXPECT_EQ(findings.front().code, Code::TcpResetByMiddlebox) << "the cause comes first";
}

TEST(ExplainLadder, ResetAtTheTargetsDistanceStaysTheTargetsRefusal) {
  const auto findings = explain(far_refused(3));
  EXPECT_EQ(find(findings, Code::TcpResetByMiddlebox), nullptr);
  const Finding* f = find(findings, Code::TcpRefused);
  ASSERT_NE(f, nullptr);
  EXPECT_TRUE(any_evidence(*f, "consistent with the target"));
}

TEST(ExplainLadder, UnplacedResetSaysSoAndClaimsNothing) {
  auto ev = far_refused(2);
  ev.ladders[0].working.reset();
  ev.ladders[0].place = trace::place_reset(ev.ladders[0].refused, nullptr);
  const auto findings = explain(ev);
  EXPECT_EQ(find(findings, Code::TcpResetByMiddlebox), nullptr);
  const Finding* f = find(findings, Code::TcpRefused);
  ASSERT_NE(f, nullptr);
  EXPECT_TRUE(any_evidence(*f, "could not be placed"));
}

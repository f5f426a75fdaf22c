#include "probes/trace/ttl_ladder.h"

#include <gtest/gtest.h>

using namespace midiag;
using namespace midiag::trace;

namespace {

tcp::Result probe(std::string address, std::uint16_t port, tcp::State state,
                  tcp::Role role = tcp::Role::Custom) {
  tcp::Result r;
  r.target = {std::move(address), port, role};
  r.state = state;
  return r;
}

Hop hop(int ttl, HopKind kind, std::string address = {}) {
  Hop h;
  h.ttl = ttl;
  h.kind = kind;
  h.address = std::move(address);
  return h;
}

Result ladder(std::string address, std::uint16_t port, std::vector<Hop> path) {
  Result r;
  r.target = {std::move(address), port};
  r.path = std::move(path);
  return r;
}

// The lab's far host: client -> 10.250.1.1 (r1) -> 10.250.3.2 (r2) -> 10.250.4.10. A REJECT
// tcp-reset in r1's FORWARD chain answers only packets that still have TTL > 1 at r1: RST from
// TTL 2, while the host's own SYN-ACK needs TTL 3.
const std::string kFar = "10.250.4.10";
Result far_refused() {
  return ladder(kFar, 1433,
                {hop(1, HopKind::TimeExceeded, "10.250.1.1"), hop(2, HopKind::Reset, kFar)});
}
Result far_working() {
  return ladder(kFar, 3342,
                {hop(1, HopKind::TimeExceeded, "10.250.1.1"),
                 hop(2, HopKind::TimeExceeded, "10.250.3.2"), hop(3, HopKind::SynAck, kFar)});
}

}  // namespace

TEST(TtlLadderPlan, OneLadderPerRefusedPortWithTheAddressesWorkingPort) {
  const std::vector<tcp::Result> results = {
      probe("10.250.2.10", 3342, tcp::State::Open),
      probe("10.250.2.10", 1444, tcp::State::Refused),
      probe("10.250.2.10", 1433, tcp::State::Refused, tcp::Role::Gateway),
      probe("10.250.2.10", 1433, tcp::State::Refused, tcp::Role::Gateway),  // the same pair
      probe("10.250.2.11", 1433, tcp::State::Filtered),
  };
  const auto plans = plan_ladders(results, 1433, 4);
  ASSERT_EQ(plans.size(), 2u);
  EXPECT_EQ(plans[0].refused_port, 1433) << "the endpoint's own port first";
  EXPECT_EQ(plans[1].refused_port, 1444);
  for (const auto& p : plans) {
    EXPECT_EQ(p.address, "10.250.2.10");
    ASSERT_TRUE(p.working_port);
    EXPECT_EQ(*p.working_port, 3342);
  }
}

TEST(TtlLadderPlan, NeverForSweptPortsAndCappedPerCheck) {
  std::vector<tcp::Result> results;
  for (std::uint16_t p = 11000; p < 11100; ++p)
    results.push_back(probe("10.250.2.10", p, tcp::State::Refused, tcp::Role::Sweep));
  EXPECT_TRUE(plan_ladders(results, 1433, 4).empty()) << "a swept range's refusals get none";
  for (std::uint16_t p = 2000; p < 2010; ++p)
    results.push_back(probe("10.250.2.10", p, tcp::State::Refused));
  EXPECT_EQ(plan_ladders(results, 1433, 4).size(), 4u);
}

TEST(TtlLadderPlan, PrefersTheEndpointPortAsTheWorkingOne) {
  const std::vector<tcp::Result> results = {
      probe("10.250.2.10", 3342, tcp::State::Open),
      probe("10.250.2.10", 1433, tcp::State::Open, tcp::Role::Gateway),
      probe("10.250.2.10", 1444, tcp::State::Refused),
      probe("10.250.2.11", 1444, tcp::State::Refused),  // no open port on that address
  };
  const auto plans = plan_ladders(results, 1433, 4);
  ASSERT_EQ(plans.size(), 2u);
  EXPECT_EQ(plans[0].working_port, std::optional<std::uint16_t>(1433));
  EXPECT_FALSE(plans[1].working_port);
}

TEST(TtlLadderPlace, ResetDrawnWithFewerHopsThanTheTargetIsPlacedBeforeIt) {
  const auto refused = far_refused();
  const auto working = far_working();
  const auto p = place_reset(refused, &working);
  EXPECT_EQ(p.placement, Placement::BeforeTarget);
  EXPECT_EQ(p.reset_ttl, 2);
  EXPECT_EQ(p.target_ttl, 3);
  EXPECT_EQ(p.hop_address, "10.250.1.1");
  EXPECT_EQ(p.hop_ttl, 1);
  EXPECT_EQ(p.next_address, "10.250.3.2");
  EXPECT_EQ(p.next_ttl, 2);
  ResetLadder l{{kFar, 1433, 3342}, refused, working, p};
  EXPECT_EQ(l.summary(),
            "TTL ladder (socket) to 10.250.4.10:1433: the reset comes back from TTL 2, the "
            "target's SYN-ACK on 3342 needs TTL 3: a device before the target sent it, at or just "
            "after 10.250.1.1 (hop 1), before 10.250.3.2 (hop 2)");
}

TEST(TtlLadderPlace, ResetAtTheTargetsDistanceIsConsistentWithTheTarget) {
  // A closed port on an instance one router away: its own RST and its SYN-ACK both need TTL 2.
  const auto refused =
      ladder("10.250.2.10", 1444,
             {hop(1, HopKind::TimeExceeded, "10.250.1.1"), hop(2, HopKind::Reset, "10.250.2.10")});
  const auto working =
      ladder("10.250.2.10", 1433,
             {hop(1, HopKind::TimeExceeded, "10.250.1.1"), hop(2, HopKind::SynAck, "10.250.2.10")});
  const auto p = place_reset(refused, &working);
  EXPECT_EQ(p.placement, Placement::AtTarget);
  EXPECT_TRUE(p.hop_address.empty()) << "no device is named";
  ResetLadder l{{"10.250.2.10", 1444, 1433}, refused, working, p};
  EXPECT_NE(l.summary().find("consistent with the target"), std::string::npos) << l.summary();
}

TEST(TtlLadderPlace, NoClaimWithoutAWorkingPortOrAReset) {
  const auto refused = far_refused();
  auto p = place_reset(refused, nullptr);
  EXPECT_EQ(p.placement, Placement::NotPlaced);
  EXPECT_NE(p.why.find("answered SYN-ACK"), std::string::npos) << p.why;
  EXPECT_EQ(p.reset_ttl, 2) << "what was measured is still reported";

  // The reset did not come back this time (every TTL silent or time-exceeded).
  const auto silent = ladder(kFar, 1433,
                             {hop(1, HopKind::TimeExceeded, "10.250.1.1"), hop(2, HopKind::Silent),
                              hop(3, HopKind::Silent)});
  const auto working = far_working();
  p = place_reset(silent, &working);
  EXPECT_EQ(p.placement, Placement::NotPlaced);
  EXPECT_NE(p.why.find("drew the reset"), std::string::npos) << p.why;

  // The working port did not answer the ladder.
  const auto dark = ladder(kFar, 3342, {hop(1, HopKind::Silent), hop(2, HopKind::Silent)});
  p = place_reset(refused, &dark);
  EXPECT_EQ(p.placement, Placement::NotPlaced);
}

TEST(TtlLadderPlace, DifferentPathsPerPortAreNotCompared) {
  // Per-flow load balancing: the two ports leave by different first routers.
  const auto refused =
      ladder(kFar, 1433,
             {hop(1, HopKind::TimeExceeded, "10.250.1.1"),
              hop(2, HopKind::TimeExceeded, "10.250.3.2"), hop(3, HopKind::Reset, kFar)});
  const auto working = ladder(
      kFar, 3342,
      {hop(1, HopKind::TimeExceeded, "10.250.1.9"), hop(2, HopKind::TimeExceeded, "10.250.3.2"),
       hop(3, HopKind::TimeExceeded, "10.250.3.7"), hop(4, HopKind::SynAck, kFar)});
  const auto p = place_reset(refused, &working);
  EXPECT_EQ(p.placement, Placement::NotPlaced);
  EXPECT_NE(p.why.find("different paths at hop 1"), std::string::npos) << p.why;
}

TEST(TtlLadderPlace, ResetNeedingMoreHopsThanTheTargetIsNotPlaced) {
  const auto refused = ladder(
      kFar, 1433,
      {hop(1, HopKind::TimeExceeded, "10.250.1.1"), hop(2, HopKind::TimeExceeded, "10.250.3.2"),
       hop(3, HopKind::TimeExceeded, "10.250.3.3"), hop(4, HopKind::Reset, kFar)});
  const auto working = far_working();
  const auto p = place_reset(refused, &working);
  EXPECT_EQ(p.placement, Placement::NotPlaced);
  EXPECT_NE(p.why.find("more hops"), std::string::npos) << p.why;
}

TEST(TtlLadderPlace, ALadderThatCouldNotRunMakesNoClaim) {
  Result refused = far_refused();
  refused.path.clear();
  refused.error = "no socket for TTL 1";
  const auto working = far_working();
  const auto p = place_reset(refused, &working);
  EXPECT_EQ(p.placement, Placement::NotPlaced);
  EXPECT_NE(p.why.find("no socket"), std::string::npos);
}

TEST(TracePathKnown, OnlyOnceEveryTtlBelowTheEndAnswered) {
  std::vector<Hop> path = {hop(1, HopKind::TimeExceeded, "10.250.1.1"), hop(2, HopKind::Silent),
                           hop(3, HopKind::Reset, kFar), hop(4, HopKind::Silent)};
  EXPECT_FALSE(detail::path_known(path, {true, false, true, false}))
      << "TTL 2 may still end the path earlier";
  path[1] = hop(2, HopKind::TimeExceeded, "10.250.3.2");
  EXPECT_TRUE(detail::path_known(path, {true, true, true, false}));
  EXPECT_FALSE(detail::path_known(path, {false, true, true, false}));
  detail::trim_after_end(path);
  EXPECT_EQ(path.size(), 3u);
}

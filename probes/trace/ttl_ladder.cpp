#include "probes/trace/ttl_ladder.h"

#include <algorithm>

namespace midiag::trace {

std::string_view to_string(Placement p) {
  switch (p) {
    case Placement::BeforeTarget:
      return "before_target";
    case Placement::AtTarget:
      return "at_target";
    case Placement::NotPlaced:
      return "not_placed";
  }
  return "not_placed";
}

std::vector<LadderPlan> plan_ladders(const std::vector<tcp::Result>& results,
                                     std::uint16_t prefer_port, std::size_t max_refused) {
  std::vector<const tcp::Result*> refused;
  for (const auto& r : results)
    if (r.state == tcp::State::Refused && r.target.role != tcp::Role::Sweep &&
        std::none_of(refused.begin(), refused.end(), [&](const tcp::Result* x) {
          return x->target.address == r.target.address && x->target.port == r.target.port;
        }))
      refused.push_back(&r);
  std::stable_partition(refused.begin(), refused.end(),
                        [&](const tcp::Result* r) { return r->target.port == prefer_port; });
  if (refused.size() > max_refused) refused.resize(max_refused);
  std::vector<LadderPlan> plans;
  for (const auto* r : refused) {
    LadderPlan plan{r->target.address, r->target.port, std::nullopt};
    for (const auto& o : results) {
      if (o.state != tcp::State::Open || o.target.address != r->target.address) continue;
      if (!plan.working_port || o.target.port == prefer_port) plan.working_port = o.target.port;
    }
    plans.push_back(std::move(plan));
  }
  return plans;
}

namespace {

// The TTL of the hop that ended the path, if it is of `kind`.
int end_ttl(const Result& r, HopKind kind) {
  return !r.path.empty() && r.path.back().kind == kind ? r.path.back().ttl : 0;
}

const Hop* hop_at(const Result& r, int ttl) {
  for (const auto& h : r.path)
    if (h.ttl == ttl) return &h;
  return nullptr;
}

}  // namespace

ResetPlace place_reset(const Result& refused, const Result* working) {
  ResetPlace p;
  p.reset_ttl = end_ttl(refused, HopKind::Reset);
  if (working != nullptr) p.target_ttl = end_ttl(*working, HopKind::SynAck);
  if (!refused.error.empty()) {
    p.why = "the ladder could not run: " + refused.error;
    return p;
  }
  if (p.reset_ttl == 0) {
    p.why = "no TTL up to " + std::to_string(refused.path.empty() ? 0 : refused.path.back().ttl) +
            " drew the reset again";
    return p;
  }
  if (working == nullptr) {
    p.why = "no port of " + refused.target.address +
            " answered SYN-ACK, so its own distance is unknown";
    return p;
  }
  if (!working->error.empty()) {
    p.why = "the ladder to the working port could not run: " + working->error;
    return p;
  }
  if (p.target_ttl == 0) {
    p.why = "no TTL drew the SYN-ACK of port " + std::to_string(working->target.port) +
            " this time, so the target's distance is unknown";
    return p;
  }
  // Both ladders must cross the same routers below the reset, or per-flow load balancing gave
  // the two ports different paths and their lengths say nothing about each other.
  for (int ttl = 1; ttl < std::min(p.reset_ttl, p.target_ttl); ++ttl) {
    const Hop* a = hop_at(refused, ttl);
    const Hop* b = hop_at(*working, ttl);
    if (a != nullptr && b != nullptr && a->kind == HopKind::TimeExceeded &&
        b->kind == HopKind::TimeExceeded && a->address != b->address) {
      p.why = "the two ports take different paths at hop " + std::to_string(ttl) + " (" +
              a->address + " vs " + b->address + ")";
      return p;
    }
  }
  if (p.reset_ttl > p.target_ttl) {
    p.why = "the reset needs more hops (" + std::to_string(p.reset_ttl) +
            ") than the target's SYN-ACK (" + std::to_string(p.target_ttl) +
            "): the ports' paths differ";
    return p;
  }
  if (p.reset_ttl == p.target_ttl) {
    p.placement = Placement::AtTarget;
    return p;
  }
  p.placement = Placement::BeforeTarget;
  // The device: the last router that answered below the reset (either ladder says who it is).
  for (int ttl = p.reset_ttl - 1; ttl >= 1 && p.hop_address.empty(); --ttl)
    for (const Result* r : {&refused, working})
      if (const Hop* h = hop_at(*r, ttl); h != nullptr && h->kind == HopKind::TimeExceeded) {
        p.hop_address = h->address;
        p.hop_ttl = ttl;
        break;
      }
  if (const Hop* h = hop_at(*working, p.reset_ttl);
      h != nullptr && !h->address.empty() && h->kind == HopKind::TimeExceeded) {
    p.next_address = h->address;
    p.next_ttl = p.reset_ttl;
  }
  return p;
}

std::string ResetLadder::summary() const {
  const std::string to = "TTL ladder (" + std::string(to_string(refused.method)) + ") to " +
                         plan.address + ":" + std::to_string(plan.refused_port);
  const std::string reset = "the reset comes back from TTL " + std::to_string(place.reset_ttl);
  const std::string synack = working ? "the target's SYN-ACK on " +
                                           std::to_string(working->target.port) + " needs TTL " +
                                           std::to_string(place.target_ttl)
                                     : std::string();
  switch (place.placement) {
    case Placement::BeforeTarget: {
      const std::string next = place.next_address + " (hop " + std::to_string(place.next_ttl) + ")";
      std::string where;
      if (!place.hop_address.empty()) {
        where = "at or just after " + place.hop_address + " (hop " + std::to_string(place.hop_ttl) +
                ")";
        if (!place.next_address.empty()) where += ", before " + next;
      } else if (!place.next_address.empty()) {
        where = "no further than " + next;
      } else {
        where = "within the first " + std::to_string(place.reset_ttl) + " hop(s)";
      }
      return to + ": " + reset + ", " + synack + ": a device before the target sent it, " + where;
    }
    case Placement::AtTarget:
      return to + ": " + reset + ", as " + synack +
             ": consistent with the target (a device on the last hop before it cannot be told "
             "apart)";
    case Placement::NotPlaced:
      break;
  }
  return to + ": the reset could not be placed: " + place.why;
}

}  // namespace midiag::trace

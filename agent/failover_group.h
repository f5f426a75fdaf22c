// `check --mode failover-group`: the target's own check, then the group's other listener (and,
// given a partner with --fog, both listeners), each a full check of its own; the report gains
// the failover_group evidence the FOG_* rules read.
#pragma once

#include "agent/check.h"

namespace midiag::agent {

CheckOutcome run_failover_group_check(const CheckOptions& options, const Clock& clock);

// One side's account from its own check: where the listener's CNAME leads, with what TTL, the
// certificate the gateway presented, and (for the other side) its verdict and findings.
// `own_check` is that side's report when it is not the target's (null: the target's own side,
// whose findings are the report's).
reports::Evidence::FailoverSide failover_side(const reports::Evidence& ev, bool read_only,
                                              const reports::Report* own_check);

}  // namespace midiag::agent

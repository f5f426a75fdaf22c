// The rule-based half of redaction (spec §7): secrets a run does not know, found by their shape or
// their key. Hand-written scanners, each one linear pass, no std::regex: bundle members hold text
// from the system and the network, and hostile text must not cost more than its length.
#pragma once

#include <cstddef>
#include <functional>
#include <string>
#include <string_view>

namespace midiag::reports {

// Called once per rule that removed something, with how many values it removed.
using RuleCounter = std::function<void(std::string_view rule, std::size_t n)>;

// Every rule in order: pem-private-key, authorization-header, jwt, url-userinfo,
// connection-string:<Key>, sas-sig, secret-key-name. Each value becomes kRedacted; keys, schemes,
// quotes and delimiters stay, so the reader sees what was removed and the text keeps its shape.
std::string apply_redaction_rules(std::string_view text, const RuleCounter& count);

}  // namespace midiag::reports

// Render-safe strings: every string that came from evidence or a finding (and so, possibly, from
// a server) passes through one of these on its way into a report, once per renderer, so no
// server can break or forge the output (spec §6). Input may be any bytes; output is valid UTF-8.
#pragma once

#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "reports/finding.h"

namespace midiag::reports {

// Terminal text, one field on one line: C0 controls, DEL and C1 (U+0080-U+009F) become \xNN
// (newline, CR and tab as \n, \r, \t), line/paragraph separators and bidi overrides \uNNNN.
std::string safe_text(std::string_view s);

// Markdown prose (a paragraph or a table cell): safe_text, then &, <, > as entities (no raw HTML)
// and the characters that start Markdown syntax backslash-escaped, `|` included.
std::string safe_md_text(std::string_view s);

// A Markdown code span holding s (safe_text first), delimited by a backtick run longer than any
// inside and padded per CommonMark, so the content cannot close it. in_table also escapes `|`,
// which GFM splits cells on even inside code spans.
std::string safe_md_code(std::string_view s, bool in_table = false);

// A backtick fence that the content of a fenced block cannot close: longer than every backtick
// or tilde run in it, and at least three.
std::string md_fence_for(std::string_view content);

// Replaces every string in the document (values and keys) by its valid UTF-8 form, so dump()
// cannot throw type_error.316.
void make_strings_valid(nlohmann::json& doc);

// The finding code's stable name without throwing: "UNKNOWN_<n>" for a code the catalogue lacks.
std::string code_name(Code code);

}  // namespace midiag::reports

#include "reports/render_routes.h"

#include <algorithm>
#include <array>
#include <sstream>

#include "reports/route_rules.h"
#include "reports/safe_text.h"

namespace midiag::reports {

namespace rt = platform::routes;
using nlohmann::json;

namespace {

std::string source_name(const RoutesReport& r) {
  return r.file.empty() ? "this host (netlink)" : r.file;
}

json route_json(const rt::RouteEntry& e, std::size_t index) {
  json j = {{"index", index},
            {"destination", e.destination.text()},
            {"gateway", gateway_text(e)},
            {"interface", e.interface},
            {"metric", e.metric ? json(*e.metric) : json(nullptr)},
            {"flags", e.flags},
            {"table", e.table},
            {"family", e.family()},
            {"kind", e.kind},
            {"active", e.active},
            {"origin", e.origin}};
  if (e.persistent) j["persistent"] = true;
  return j;
}

std::string metric_text(const rt::RouteEntry& e) {
  return e.metric ? std::to_string(*e.metric) : "-";
}

}  // namespace

std::vector<Finding> explain_routes(const RoutesReport& r) {
  std::vector<Finding> out;
  if (r.to && r.nsg) {
    NsgQuestion n;
    n.where = r.nsg->file;
    n.to = *r.to;
    n.from = r.nsg->from;
    n.flows = r.nsg->flows;
    out = nsg_findings(n);
  }
  if (!r.to || !r.lookup || !r.table_read) return out;
  RouteQuestion q;
  q.table = &r.table;
  q.to = *r.to;
  q.lookup = *r.lookup;
  q.where = source_name(r);
  q.own_host = r.file.empty();
  q.on_azure = r.on_azure;
  for (auto& f : route_findings(q)) out.push_back(std::move(f));
  return out;
}

namespace {

json step_json(const rt::NsgStep& s) {
  return {{"nsg", s.nsg},
          {"association", s.association},
          {"allow", s.allow},
          {"rule", s.rule.empty() ? json(nullptr) : json(s.rule)},
          {"priority", s.rule.empty() ? json(nullptr) : json(s.priority)}};
}

json spans_json(const std::vector<rt::PortSpan>& spans) {
  json a = json::array();
  for (const auto& p : spans) a.push_back(p.text());
  return a;
}

json nsg_json(const RoutesReport& r) {
  if (!r.nsg) return nullptr;
  const auto& n = *r.nsg;
  json flows = json::array();
  for (const auto& f : n.flows) {
    json steps = json::array();
    for (const auto& s : f.verdict.steps) steps.push_back(step_json(s));
    json one = {{"protocol", "Tcp"},
                {"direction", "Outbound"},
                {"source", n.from ? json(n.from->text()) : json(nullptr)},
                {"destination", r.to ? json(r.to->text()) : json(nullptr)}};
    if (f.ports.low == f.ports.high)
      one["destination_port"] = f.ports.low;
    else
      one["destination_ports"] = f.ports.text();
    one["allow"] = f.allow;
    one["determined"] = f.determined;
    one["verdict"] = f.text();
    one["rule"] = f.verdict.rule.empty() ? json(nullptr) : json(f.verdict.rule);
    one["denied_ports"] = spans_json(f.denied);
    one["undetermined_ports"] = spans_json(f.undetermined);
    one["steps"] = std::move(steps);
    one["notes"] = f.verdict.notes;
    flows.push_back(std::move(one));
  }
  json unread = json::array();
  for (const auto& u : n.unread) unread.push_back({{"text", u.text}, {"reason", u.reason}});
  return {{"file", n.file}, {"flows", std::move(flows)}, {"unread", std::move(unread)}};
}

}  // namespace

namespace {

// The document; with `routes_too` false, routes[] is left empty for render_routes_json to stream.
json document(const RoutesReport& r, bool routes_too) {
  json routes = json::array();
  for (std::size_t i = 0; routes_too && i < r.table.routes.size(); ++i)
    routes.push_back(route_json(r.table.routes[i], i));
  json rules = json::array();
  for (const auto& p : r.table.rules)
    rules.push_back({{"priority", p.priority},
                     {"text", p.text},
                     {"table", p.table},
                     {"action", p.action},
                     {"family", p.family == 0 ? json(nullptr) : json(p.family)}});
  json lookup = nullptr;
  if (r.to && r.lookup) {
    const auto& l = *r.lookup;
    lookup = {{"to", r.to->text()},
              {"route", l.route ? route_json(r.table.routes[*l.route], *l.route) : json(nullptr)},
              {"reason", l.reason},
              {"beaten", l.beaten}};
    if (l.rule) {
      const auto& p = r.table.rules[*l.rule];
      lookup["rule"] = {{"priority", p.priority}, {"text", p.text}};
    }
  }
  json findings = json::array();
  for (const auto& f : r.findings)
    findings.push_back({{"code", code_name(f.code)},
                        {"severity", to_string(f.severity)},
                        {"title", f.title},
                        {"detail", f.detail},
                        {"evidence", f.evidence},
                        {"remediation", f.remediation},
                        {"reference", f.reference},
                        {"addresses", f.addresses}});
  json unread = json::array();
  for (const auto& u : r.table.unread)
    unread.push_back({{"line", u.line}, {"text", u.text}, {"reason", u.reason}});
  json doc = {{"schema", kRoutesSchema},
              {"source",
               {{"file", r.file.empty() ? json(nullptr) : json(r.file)},
                {"format", r.table_read ? json(rt::format_name(r.table.format)) : json(nullptr)},
                {"note", r.table.note}}},
              {"verdict", to_string(verdict_of(r.findings))},
              {"routes", std::move(routes)},
              {"rules", std::move(rules)},
              {"lookup", std::move(lookup)},
              {"findings", std::move(findings)},
              {"unread", std::move(unread)}};
  if (r.nsg) doc["nsg"] = nsg_json(r);
  make_strings_valid(doc);
  return doc;
}

}  // namespace

json routes_to_json(const RoutesReport& r) {
  return document(r, true);
}

void render_routes_json(const RoutesReport& r, std::ostream& out) {
  // A table read from a file may hold a million routes: each is dumped on its own line, straight
  // to the stream, instead of as one document tree or one string (the tree cost ~2 KB per route:
  // 486 MB for 200,000 routes).
  const std::string text = document(r, false).dump(2);
  const std::string empty = "\"routes\": []";
  const auto at = text.find(empty);
  if (at == std::string::npos || r.table.routes.empty()) {
    out << text << "\n";
    return;
  }
  out << std::string_view(text).substr(0, at) << "\"routes\": [";
  for (std::size_t i = 0; i < r.table.routes.size(); ++i) {
    json one = route_json(r.table.routes[i], i);
    make_strings_valid(one);
    out << (i == 0 ? "\n    " : ",\n    ") << one.dump();
  }
  out << "\n  ]" << std::string_view(text).substr(at + empty.size()) << "\n";
}

std::string render_routes_json(const RoutesReport& r) {
  std::ostringstream o;
  render_routes_json(r, o);
  return o.str();
}

void render_routes_text(const RoutesReport& r, std::ostream& o) {
  const auto& t = r.table;
  // The NSG's verdicts first, as IP flow verify words them.
  if (r.nsg) {
    const auto from = r.nsg->from ? r.nsg->from->text() : std::string("any source");
    for (const auto& f : r.nsg->flows)
      o << "nsg: TCP " << from << " -> " << (r.to ? r.to->text() : std::string("?")) << ":"
        << f.ports.text() << " outbound: " << safe_text(f.text()) << "\n";
    for (const auto& f : r.nsg->flows)
      for (const auto& s : f.verdict.steps)
        if (!s.rule.empty())
          o << "  " << f.ports.text() << ": NSG " << safe_text(s.nsg) << " on the " << s.association
            << ": " << (s.allow ? "Allow" : "Deny") << " by " << safe_text(s.rule) << " (priority "
            << s.priority << ")\n";
    for (const auto& u : r.nsg->unread)
      o << "  not read from " << safe_text(r.nsg->file) << ": " << safe_text(u.text) << " ("
        << safe_text(u.reason) << ")\n";
  }
  // Then the findings, each with its cause and fix, then the lookup's answer.
  for (const auto& f : r.findings) {
    o << to_string(f.severity) << " " << code_name(f.code) << ": " << safe_text(f.title) << "\n";
    if (!f.detail.empty()) o << "  why: " << safe_text(f.detail) << "\n";
    if (!f.remediation.empty()) o << "  fix: " << safe_text(f.remediation) << "\n";
  }
  if (r.to && r.lookup) {
    const auto& l = *r.lookup;
    if (l.route) {
      const auto& e = t.routes[*l.route];
      o << r.to->text() << ": " << safe_text(e.destination.text()) << " via "
        << safe_text(gateway_text(e)) << (e.interface.empty() ? "" : " on ")
        << safe_text(e.interface) << (e.table.empty() ? "" : " (table " + safe_text(e.table) + ")")
        << (e.kind == "unicast" ? "" : " [" + safe_text(e.kind) + "]") << "\n";
    } else {
      o << r.to->text() << ": no route\n";
    }
    o << "  why: " << safe_text(l.reason) << "\n";
  }
  if (!r.table_read) return;
  o << t.routes.size() << (t.routes.size() == 1 ? " route" : " routes");
  if (!t.rules.empty()) o << ", " << t.rules.size() << (t.rules.size() == 1 ? " rule" : " rules");
  o << " from " << safe_text(source_name(r)) << " (" << rt::format_name(t.format) << ")";
  if (!t.unread.empty())
    o << ", " << t.unread.size() << (t.unread.size() == 1 ? " line" : " lines") << " not read";
  if (!t.note.empty()) o << "; " << safe_text(t.note);
  o << "\n";

  // One line per route, in columns: widths in a first pass, then each line written as it is made
  // (a million rows held as strings cost more than the table itself).
  std::array<std::size_t, 7> width{};
  const std::array<std::string, 7> header = {"destination", "gateway", "interface", "metric",
                                             "table",       "kind",    "flags"};
  auto cells = [&](const rt::RouteEntry& e) {
    return std::array<std::string, 7>{
        e.destination.text(),   safe_text(gateway_text(e)),
        safe_text(e.interface), metric_text(e),
        safe_text(e.table),     safe_text(e.kind) + (e.active ? "" : " (inactive)"),
        safe_text(e.flags)};
  };
  for (std::size_t c = 0; c < 7; ++c) width[c] = header[c].size();
  for (const auto& e : t.routes) {
    const auto row = cells(e);
    for (std::size_t c = 0; c < 7; ++c) width[c] = std::max(width[c], row[c].size());
  }
  std::string line;
  auto put = [&](std::string_view mark, const std::array<std::string, 7>& row) {
    line.assign(mark);
    for (std::size_t c = 0; c < 7; ++c) {
      line += ' ';
      line += row[c];
      if (c + 1 < 7) line.append(width[c] - row[c].size(), ' ');
    }
    while (!line.empty() && line.back() == ' ') line.pop_back();
    o << line << "\n";
  };
  put(" ", header);
  for (std::size_t i = 0; i < t.routes.size(); ++i) {
    std::string_view mark = " ";
    if (r.lookup && r.lookup->route == i)
      mark = ">";
    else if (r.lookup && std::find(r.lookup->beaten.begin(), r.lookup->beaten.end(), i) !=
                             r.lookup->beaten.end())
      mark = "~";
    put(mark, cells(t.routes[i]));
  }
  if (r.lookup) o << "(> the chosen route, ~ other routes that match)\n";
  if (!t.rules.empty()) {
    o << "rules:\n";
    for (std::size_t i = 0; i < t.rules.size(); ++i) {
      const auto& p = t.rules[i];
      o << (r.lookup && r.lookup->rule == i ? ">" : " ") << " " << p.priority << ": "
        << safe_text(p.text)
        << (p.family == 6   ? "  (IPv6)"
            : p.family == 4 ? "  (IPv4)"
                            : "")
        << "\n";
    }
  }
  if (!t.unread.empty()) {
    o << "lines not read:\n";
    for (const auto& u : t.unread)
      o << "  line " << u.line << ": " << safe_text(u.text) << "  (" << safe_text(u.reason)
        << ")\n";
  }
}

std::string render_routes_text(const RoutesReport& r) {
  std::ostringstream o;
  render_routes_text(r, o);
  return o.str();
}

}  // namespace midiag::reports

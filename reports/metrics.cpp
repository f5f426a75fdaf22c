#include "reports/metrics.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cmath>
#include <cstring>
#include <set>

#include "decoders/common/utf8.h"

namespace midiag::reports::metrics {

namespace {

bool name_char(char c, bool first, bool colon) {
  const bool alpha = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_';
  return alpha || (colon && c == ':') || (!first && c >= '0' && c <= '9');
}

std::string_view type_word(Type t) {
  return t == Type::Counter ? "counter" : "gauge";  // info is a gauge in 0.0.4
}

Error bad(const std::string& family, const std::string& why) {
  return make_error("metric " + family + ": " + why, ErrorKind::Usage);
}

}  // namespace

bool valid_metric_name(std::string_view name) {
  if (name.empty()) return false;
  for (std::size_t i = 0; i < name.size(); ++i)
    if (!name_char(name[i], i == 0, true)) return false;
  return true;
}

bool valid_label_name(std::string_view name) {
  if (name.empty()) return false;
  for (std::size_t i = 0; i < name.size(); ++i)
    if (!name_char(name[i], i == 0, false)) return false;
  return true;
}

namespace {

// The format's escapes: backslash and newline always, the double quote inside a label value.
std::string escaped(std::string_view v, bool quote) {
  const std::string valid = to_valid_utf8(v);
  std::string out;
  out.reserve(valid.size());
  for (char c : valid) {
    if (c == '\\')
      out += "\\\\";
    else if (c == '\n')
      out += "\\n";
    else if (quote && c == '"')
      out += "\\\"";
    else
      out += c;
  }
  return out;
}

}  // namespace

std::string escape_label_value(std::string_view v) {
  return escaped(v, true);
}

std::string escape_help(std::string_view v) {
  return escaped(v, false);
}

std::string format_value(double v) {
  if (std::isnan(v)) return "NaN";
  if (std::isinf(v)) return v > 0 ? "+Inf" : "-Inf";
  constexpr double kExact = 9007199254740992.0;  // 2^53: every whole number below is exact
  char buf[64];
  if (v == std::trunc(v) && std::fabs(v) <= kExact) {
    auto [end, ec] = std::to_chars(buf, buf + sizeof buf, static_cast<long long>(v));
    return std::string(buf, end);
  }
  // std::to_chars never looks at the locale: '.' whatever LC_NUMERIC or std::locale say.
  auto [end, ec] = std::to_chars(buf, buf + sizeof buf, v);
  return std::string(buf, end);
}

Family& Exposition::family(std::string name, std::string help, Type type) {
  for (auto& f : families_)
    if (f.name == name) return f;
  families_.push_back(Family{std::move(name), std::move(help), type, {}});
  return families_.back();
}

void Exposition::add(const std::string& name, const std::string& help, Type type,
                     std::vector<Label> labels, double value) {
  family(name, help, type).samples.push_back(Sample{std::move(labels), value});
}

Expected<std::string> encode(const std::vector<Family>& families) {
  std::string out;
  std::set<std::string> names;
  for (const auto& f : families) {
    if (!valid_metric_name(f.name)) return bad("'" + f.name + "'", "not a valid metric name");
    if (!names.insert(f.name).second) return bad(f.name, "family given twice");
    if (f.type == Type::Counter && !f.name.ends_with("_total"))
      return bad(f.name, "a counter's name ends in _total");
    if (f.type == Type::Info && !f.name.ends_with("_info"))
      return bad(f.name, "an info metric's name ends in _info");
    if (f.samples.empty()) continue;
    out += "# HELP " + f.name + " " + escape_help(f.help) + "\n";
    out += "# TYPE " + f.name + " " + std::string(type_word(f.type)) + "\n";
    std::set<std::string> label_sets;
    for (const auto& s : f.samples) {
      std::set<std::string_view> seen;
      std::string labels;
      for (const auto& l : s.labels) {
        if (!valid_label_name(l.name)) return bad(f.name, "bad label name '" + l.name + "'");
        if (l.name.starts_with("__")) return bad(f.name, "label name '" + l.name + "' is reserved");
        if (!seen.insert(l.name).second) return bad(f.name, "label '" + l.name + "' given twice");
        labels += (labels.empty() ? "" : ",") + l.name + "=\"" + escape_label_value(l.value) + "\"";
      }
      // The same series twice is a scrape error: compare label sets regardless of order.
      auto key = s.labels;
      std::sort(key.begin(), key.end(),
                [](const Label& a, const Label& b) { return a.name < b.name; });
      std::string canonical;
      for (const auto& l : key) canonical += l.name + '\0' + l.value + '\0';
      if (!label_sets.insert(canonical).second)
        return bad(f.name, "the same labels twice {" + labels + "}");
      if (f.type == Type::Counter && !(s.value >= 0))
        return bad(f.name, "a counter is never negative or NaN");
      if (f.type == Type::Info && s.value != 1) return bad(f.name, "an info metric's value is 1");
      out += f.name;
      if (!labels.empty()) out += "{" + labels + "}";
      out += " " + format_value(s.value) + "\n";
    }
  }
  return out;
}

std::optional<Error> write_textfile(const std::string& path, std::string_view text) {
  const auto slash = path.rfind('/');
  const std::string dir = slash == std::string::npos ? "."
                          : slash == 0               ? "/"
                                                     : path.substr(0, slash);
  const std::string base = slash == std::string::npos ? path : path.substr(slash + 1);
  auto fail = [&](const std::string& what, int err) {
    return make_error(
        "cannot write metrics textfile " + path + ": " + what + ": " + std::strerror(err),
        ErrorKind::Io);
  };
  if (base.empty())
    return make_error("metrics textfile '" + path + "' names a directory", ErrorKind::Usage);
  std::string tmp = dir + "/." + base + ".XXXXXX";
  int fd = ::mkostemp(tmp.data(), O_CLOEXEC);
  if (fd < 0) return fail("directory " + dir, errno);
  std::optional<Error> error;
  std::size_t done = 0;
  while (done < text.size()) {
    auto n = ::write(fd, text.data() + done, text.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      error = fail("writing " + tmp, errno);
      break;
    }
    done += static_cast<std::size_t>(n);
  }
  // node_exporter (another user) reads it; mkostemp made it 0600.
  if (!error && ::fchmod(fd, 0644) != 0) error = fail("chmod " + tmp, errno);
  if (!error && ::fsync(fd) != 0) error = fail("fsync " + tmp, errno);
  if (::close(fd) != 0 && !error) error = fail("closing " + tmp, errno);
  if (!error && ::rename(tmp.c_str(), path.c_str()) != 0) error = fail("rename", errno);
  if (error) {
    ::unlink(tmp.c_str());
    return error;
  }
  // The rename itself survives a crash only once the directory is on disk.
  if (int dfd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC); dfd >= 0) {
    ::fsync(dfd);
    ::close(dfd);
  }
  return std::nullopt;
}

}  // namespace midiag::reports::metrics

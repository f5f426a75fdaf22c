// Prometheus text exposition format 0.0.4, written by hand (one encoder for watch's /metrics and
// its --textfile): HELP and TYPE once per family, escaped label values, numbers in the C locale
// whatever the process locale is. `promtool check metrics` is its test.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "decoders/common/expected.h"

namespace midiag::reports::metrics {

// The Content-Type of a /metrics answer in this format.
inline constexpr std::string_view kContentType = "text/plain; version=0.0.4; charset=utf-8";

// Info is exposed as a gauge of value 1 whose labels carry the information (name ends _info).
enum class Type { Gauge, Counter, Info };

struct Label {
  std::string name;
  std::string value;  // any bytes: invalid UTF-8 becomes U+FFFD, then escaped
};

struct Sample {
  std::vector<Label> labels;
  double value = 0;
};

struct Family {
  std::string name;  // [a-zA-Z_:][a-zA-Z0-9_:]*; a counter's ends _total, an info's _info
  std::string help;
  Type type = Type::Gauge;
  std::vector<Sample> samples;  // a family without samples prints nothing
};

// Families in the order they are first added (stable across scrapes), samples in the order
// added. Adding a sample to an existing name reuses the family (its first help and type stay).
class Exposition {
 public:
  Family& family(std::string name, std::string help, Type type);
  void add(const std::string& name, const std::string& help, Type type, std::vector<Label> labels,
           double value);
  [[nodiscard]] const std::vector<Family>& families() const { return families_; }

 private:
  std::vector<Family> families_;
};

// The exposition text. Errors (ErrorKind::Usage, the metric named) for a bad metric or label
// name, a reserved label name (__*), a label given twice in one sample, the same label set twice
// in a family, a counter not ending _total, a negative counter, an info not ending _info or not 1.
Expected<std::string> encode(const std::vector<Family>& families);
inline Expected<std::string> encode(const Exposition& e) {
  return encode(e.families());
}

// A sample value as Prometheus reads it: NaN, +Inf, -Inf; whole numbers up to 2^53 without
// exponent or fraction ("1700000000"); others the shortest text that reads back exactly.
std::string format_value(double v);

// Escaping of the format: label values escape \ " and newline; HELP escapes \ and newline.
std::string escape_label_value(std::string_view v);
std::string escape_help(std::string_view v);

bool valid_metric_name(std::string_view name);
bool valid_label_name(std::string_view name);

// Replaces the file at `path` with `text` atomically for a reader such as node_exporter's
// textfile collector: a temporary file in the same directory (a dot file, not matched by
// *.prom), fsync, mode 0644, rename over `path`, fsync of the directory. On failure nothing is
// left behind and the old file is untouched; the error (ErrorKind::Io) names the path and the
// system's reason ("cannot write metrics textfile /x/m.prom: directory /x: No such file...").
std::optional<Error> write_textfile(const std::string& path, std::string_view text);

}  // namespace midiag::reports::metrics

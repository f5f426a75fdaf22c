// The Prometheus text encoder (format 0.0.4): exact bytes for the rules of the format, the C
// locale whatever the process locale, `promtool check metrics` on a watch-shaped exposition, and
// the textfile's atomic replace.
#include "reports/metrics.h"

#include <dirent.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <clocale>
#include <cmath>
#include <csignal>
#include <fstream>
#include <limits>
#include <locale>
#include <sstream>

#include <gtest/gtest.h>

#include "tests/unit/support/external_tool.h"
#include "tests/unit/support/temp_dir.h"

namespace m = midiag::reports::metrics;
using midiag::test_support::TempDir;

namespace {

std::string encoded(const m::Exposition& e) {
  auto r = m::encode(e);
  EXPECT_TRUE(r.ok()) << (r.ok() ? "" : r.error().message);
  return r.ok() ? *r : std::string();
}

std::string slurp(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  std::stringstream s;
  s << f.rdbuf();
  return s.str();
}

std::vector<std::string> entries(const std::string& dir) {
  std::vector<std::string> names;
  if (DIR* d = ::opendir(dir.c_str())) {
    while (auto* e = ::readdir(d))
      if (std::string(e->d_name) != "." && std::string(e->d_name) != "..")
        names.push_back(e->d_name);
    ::closedir(d);
  }
  return names;
}

// A locale whose decimal point is ',' and that groups thousands with '.', as de_DE does.
struct GermanPunct : std::numpunct<char> {
  char do_decimal_point() const override { return ','; }
  char do_thousands_sep() const override { return '.'; }
  std::string do_grouping() const override { return "\3"; }
};

// The exposition a watch round produces (spec §8 names), with hostile label values.
m::Exposition watch_like() {
  m::Exposition e;
  using T = m::Type;
  e.add("probe_success", "1 when the last check found no problem", T::Gauge, {{"target", "prod"}},
        1);
  e.add("probe_success", "", T::Gauge, {{"target", "fog-rw"}}, 0);
  e.add("probe_duration_seconds", "Wall time of the last check", T::Gauge, {{"target", "prod"}},
        0.734512);
  for (const char* phase : {"resolve", "connect", "prelogin", "tls", "login", "redirect"})
    e.add("midiag_probe_phase_duration_seconds", "Time per phase of the last check", T::Gauge,
          {{"target", "prod"}, {"phase", phase}}, 0.0125);
  e.add("midiag_tcp_connect_seconds", "TCP connect time per port", T::Gauge,
        {{"target", "prod"}, {"port", "1433"}}, 0.00042);
  e.add("midiag_dns_lookup_seconds", "DNS lookup time", T::Gauge, {{"target", "prod"}}, 1e-5);
  e.add("midiag_finding", "1 for each finding code of the last check", T::Gauge,
        {{"target", "fog-rw"}, {"code", "REDIRECT_PORTS_FILTERED"}}, 1);
  e.add("midiag_tls_cert_expiry_timestamp_seconds", "Server certificate notAfter (Unix time)",
        T::Gauge, {{"target", "prod"}}, 1767225600);
  e.add("midiag_probes_total", "Checks run", T::Counter, {{"target", "prod"}}, 12345);
  e.add("midiag_probe_failures_total", "Failed checks by finding code", T::Counter,
        {{"target", "fog-rw"}, {"code", "TCP_FILTERED"}}, 3);
  e.add("midiag_state_changes_total", "down/up transitions", T::Counter, {{"target", "prod"}}, 0);
  e.add("midiag_redirect_info", "Node the gateway redirected to", T::Info,
        {{"target", "prod"}, {"host", "evil\"host\\\nname\xff"}, {"port", "11002"}}, 1);
  e.add("midiag_build_info", "Build of mi-diag\\watch\nsecond line", T::Info,
        {{"version", "0.1.0"}}, 1);
  e.add("midiag_config_last_reload_successful", "1 when the last config load succeeded", T::Gauge,
        {}, 1);
  return e;
}

}  // namespace

TEST(MetricsEncode, WritesHelpAndTypeOnceThenSamplesInInsertionOrder) {
  m::Exposition e;
  e.add("b_metric", "second added first", m::Type::Gauge, {{"target", "x"}}, 1);
  e.add("a_total", "a counter", m::Type::Counter, {}, 7);
  e.add("b_metric", "ignored help", m::Type::Gauge, {{"target", "y"}}, 2.5);
  EXPECT_EQ(encoded(e),
            "# HELP b_metric second added first\n"
            "# TYPE b_metric gauge\n"
            "b_metric{target=\"x\"} 1\n"
            "b_metric{target=\"y\"} 2.5\n"
            "# HELP a_total a counter\n"
            "# TYPE a_total counter\n"
            "a_total 7\n");
}

TEST(MetricsEncode, EscapesLabelValuesAndHelp) {
  m::Exposition e;
  e.add("x_info", "back\\slash\nnew \"quoted\" line", m::Type::Info,
        {{"host", "a\"b\\c\nd"}, {"bad", std::string("\xff", 1)}}, 1);
  EXPECT_EQ(encoded(e),
            "# HELP x_info back\\\\slash\\nnew \"quoted\" line\n"
            "# TYPE x_info gauge\n"
            "x_info{host=\"a\\\"b\\\\c\\nd\",bad=\"\xEF\xBF\xBD\"} 1\n");
}

TEST(MetricsEncode, SpellsNumbersAsPrometheusReadsThem) {
  EXPECT_EQ(m::format_value(std::numeric_limits<double>::quiet_NaN()), "NaN");
  EXPECT_EQ(m::format_value(std::numeric_limits<double>::infinity()), "+Inf");
  EXPECT_EQ(m::format_value(-std::numeric_limits<double>::infinity()), "-Inf");
  EXPECT_EQ(m::format_value(0), "0");
  EXPECT_EQ(m::format_value(-0.0), "0");
  EXPECT_EQ(m::format_value(-3), "-3");
  EXPECT_EQ(m::format_value(1767225600), "1767225600");                // a timestamp, no exponent
  EXPECT_EQ(m::format_value(9007199254740992.0), "9007199254740992");  // 2^53, still exact
  EXPECT_EQ(m::format_value(0.1), "0.1");
  EXPECT_EQ(m::format_value(0.734512), "0.734512");
  EXPECT_EQ(m::format_value(1e-5), "1e-05");
  EXPECT_EQ(m::format_value(1e300), "1e+300");
  for (double v : {0.1, 1.0 / 3, 123456.789, 1e-300, 6.02214076e23}) {
    EXPECT_EQ(std::stod(m::format_value(v)), v) << "round trip of " << m::format_value(v);
  }
}

TEST(MetricsEncode, NumbersStayCLocaleUnderACommaDecimalLocale) {
  const std::locale before =
      std::locale::global(std::locale(std::locale::classic(), new GermanPunct));
  // The C library's locale too, when the machine has one with a comma (tests/setup.sh makes
  // de_DE.UTF-8); the encoder uses neither.
  std::string c_before = std::setlocale(LC_ALL, nullptr);
  const bool c_comma = std::setlocale(LC_ALL, "de_DE.UTF-8") != nullptr;
  if (c_comma) {
    char probe[16];
    std::snprintf(probe, sizeof probe, "%.1f", 0.5);
    EXPECT_STREQ(probe, "0,5");  // proves the locale really is in force
  }
  std::ostringstream proof;
  proof << 1234.5;
  EXPECT_EQ(proof.str(), "1.234,5");  // the global C++ locale really is comma-decimal
  m::Exposition e;
  e.add("t_seconds", "h", m::Type::Gauge, {}, 1234.5);
  e.add("u_seconds", "h", m::Type::Gauge, {}, 1767225600);
  auto text = encoded(e);
  std::setlocale(LC_ALL, c_before.c_str());
  std::locale::global(before);
  EXPECT_NE(text.find("t_seconds 1234.5\n"), std::string::npos) << text;
  EXPECT_NE(text.find("u_seconds 1767225600\n"), std::string::npos) << text;
  if (!c_comma && midiag::test_support::running_in_ci())
    ADD_FAILURE() << "de_DE.UTF-8 missing: tests/setup.sh generates it (localedef)";
}

TEST(MetricsEncode, RefusesWhatPrometheusWouldReject) {
  auto error = [](m::Family f) {
    auto r = m::encode(std::vector<m::Family>{std::move(f)});
    return r.ok() ? std::string("(accepted)") : r.error().message;
  };
  using T = m::Type;
  EXPECT_EQ(error({"9lives", "h", T::Gauge, {{{}, 1}}}),
            "metric '9lives': not a valid metric name");
  EXPECT_EQ(error({"a-b", "h", T::Gauge, {{{}, 1}}}), "metric 'a-b': not a valid metric name");
  EXPECT_EQ(error({"", "h", T::Gauge, {{{}, 1}}}), "metric '': not a valid metric name");
  EXPECT_EQ(error({"x", "h", T::Gauge, {{{{"a:b", "v"}}, 1}}}), "metric x: bad label name 'a:b'");
  EXPECT_EQ(error({"x", "h", T::Gauge, {{{{"0a", "v"}}, 1}}}), "metric x: bad label name '0a'");
  EXPECT_EQ(error({"x", "h", T::Gauge, {{{{"__name__", "v"}}, 1}}}),
            "metric x: label name '__name__' is reserved");
  EXPECT_EQ(error({"x", "h", T::Gauge, {{{{"a", "1"}, {"a", "2"}}, 1}}}),
            "metric x: label 'a' given twice");
  EXPECT_EQ(
      error({"x", "h", T::Gauge, {{{{"a", "1"}, {"b", "2"}}, 1}, {{{"b", "2"}, {"a", "1"}}, 2}}}),
      "metric x: the same labels twice {b=\"2\",a=\"1\"}");
  EXPECT_EQ(error({"x", "h", T::Counter, {{{}, 1}}}), "metric x: a counter's name ends in _total");
  EXPECT_EQ(error({"x_total", "h", T::Counter, {{{}, -1}}}),
            "metric x_total: a counter is never negative or NaN");
  EXPECT_EQ(error({"x", "h", T::Info, {{{}, 1}}}), "metric x: an info metric's name ends in _info");
  EXPECT_EQ(error({"x_info", "h", T::Info, {{{}, 2}}}),
            "metric x_info: an info metric's value is 1");
  auto twice = m::encode(
      std::vector<m::Family>{{"x", "h", T::Gauge, {{{}, 1}}}, {"x", "h", T::Gauge, {{{}, 2}}}});
  ASSERT_FALSE(twice.ok());
  EXPECT_EQ(twice.error().message, "metric x: family given twice");
  // Valid names with colons and underscores pass.
  EXPECT_EQ(error({"job:rate_5m:sum", "h", T::Gauge, {{{{"_x", "v"}}, 1}}}), "(accepted)");
}

TEST(MetricsEncode, ContentTypeIsTheFormats) {
  EXPECT_EQ(m::kContentType, "text/plain; version=0.0.4; charset=utf-8");
}

TEST(MetricsPromtool, AcceptsTheWatchExposition) {
  REQUIRE_TOOL(promtool, midiag::test_support::promtool_path(),
               "tests/setup.sh unpacks Debian's prometheus package into /opt/mi-diag-tools");
  TempDir dir;
  auto text = encoded(watch_like());
  ASSERT_FALSE(text.empty());
  auto file = dir.file("watch.prom", text);
  auto r = midiag::test_support::run_command(promtool + " check metrics < " + file);
  EXPECT_EQ(r.exit_code, 0) << r.output << "\n" << text;
  EXPECT_EQ(r.output, "") << text;  // no lint complaint either
  // And promtool does reject a broken exposition: the check can fail.
  auto broken = dir.file("broken.prom", text + "midiag_probes_total{target=\"prod\" 1\n");
  auto rb = midiag::test_support::run_command(promtool + " check metrics < " + broken);
  EXPECT_NE(rb.exit_code, 0) << rb.output;
  auto lint = dir.file("lint.prom", "# HELP x_count c\n# TYPE x_count counter\nx_count 1\n");
  auto rl = midiag::test_support::run_command(promtool + " check metrics < " + lint);
  EXPECT_NE(rl.exit_code, 0) << "promtool lints a counter without _total: " << rl.output;
}

TEST(MetricsTextfile, ReplacesTheFileAtomicallyReadableByOthers) {
  TempDir dir;
  auto path = dir.track("watch.prom");
  ASSERT_EQ(m::write_textfile(path, "a 1\n"), std::nullopt);
  EXPECT_EQ(slurp(path), "a 1\n");
  ASSERT_EQ(m::write_textfile(path, "a 2\n"), std::nullopt);
  EXPECT_EQ(slurp(path), "a 2\n");
  struct stat st {};
  ASSERT_EQ(::stat(path.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0644U);
  EXPECT_EQ(entries(dir.path()), std::vector<std::string>{"watch.prom"});  // no temp file left
}

TEST(MetricsTextfile, NamesTheDirectoryThatCannotBeWritten) {
  TempDir dir;
  auto missing = m::write_textfile(dir.path() + "/no/such/watch.prom", "a 1\n");
  ASSERT_TRUE(missing.has_value());
  EXPECT_EQ(missing->kind, midiag::ErrorKind::Io);
  EXPECT_EQ(missing->message, "cannot write metrics textfile " + dir.path() +
                                  "/no/such/watch.prom: directory " + dir.path() +
                                  "/no/such: No such file or directory");
  auto file = dir.file("plain", "x");
  auto not_dir = m::write_textfile(file + "/watch.prom", "a 1\n");
  ASSERT_TRUE(not_dir.has_value());
  EXPECT_EQ(not_dir->message, "cannot write metrics textfile " + file + "/watch.prom: directory " +
                                  file + ": Not a directory");
  // /proc refuses new files even to root (a mode-0500 directory would not stop root).
  auto proc = m::write_textfile("/proc/midiag-test.prom", "a 1\n");
  ASSERT_TRUE(proc.has_value());
  EXPECT_TRUE(
      proc->message.starts_with("cannot write metrics textfile /proc/midiag-test.prom: "
                                "directory /proc: "))
      << proc->message;
}

TEST(MetricsTextfile, AFailedWriteLeavesTheOldFileAndNoTempFile) {
  TempDir dir;
  auto path = dir.track("watch.prom");
  ASSERT_EQ(m::write_textfile(path, "old 1\n"), std::nullopt);
  // In a child limited to 4 KiB files, a 1 MiB exposition fails mid-write (EFBIG, as a full
  // disk would with ENOSPC).
  pid_t pid = ::fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    std::signal(SIGXFSZ, SIG_IGN);
    rlimit lim{4096, 4096};
    ::setrlimit(RLIMIT_FSIZE, &lim);
    auto err = m::write_textfile(path, std::string(1 << 20, 'x'));
    const bool ok =
        err.has_value() && err->kind == midiag::ErrorKind::Io &&
        err->message.find("cannot write metrics textfile " + path + ": writing ") == 0 &&
        err->message.ends_with(": File too large");
    ::_exit(ok ? 0 : 1);
  }
  int status = 0;
  ASSERT_EQ(::waitpid(pid, &status, 0), pid);
  ASSERT_TRUE(WIFEXITED(status));
  EXPECT_EQ(WEXITSTATUS(status), 0) << "the child did not see the expected error";
  EXPECT_EQ(slurp(path), "old 1\n");
  EXPECT_EQ(entries(dir.path()), std::vector<std::string>{"watch.prom"});
}

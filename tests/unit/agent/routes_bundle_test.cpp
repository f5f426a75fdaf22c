// `routes --from-file` given a .tar.gz: a bundle's route members read in place; anything else
// that looks like an archive is refused with exit 2 and a reason, never a crash or a hang.
#include "agent/routes_bundle.h"

#include <gtest/gtest.h>

#include <fstream>
#include <sstream>

#include "agent/cli.h"
#include "tests/unit/support/shell.h"
#include "tests/unit/support/temp_dir.h"

using namespace midiag;

namespace {

struct Out {
  int code;
  std::string out, err;
};

Out routes(const std::vector<std::string>& args) {
  std::ostringstream out, err;
  std::vector<std::string> all = {"routes"};
  all.insert(all.end(), args.begin(), args.end());
  const int code = agent::run_cli(all, out, err, false);
  return {code, out.str(), err.str()};
}

void write(const std::string& path, const std::string& text) {
  std::ofstream(path, std::ios::binary) << text;
}

}  // namespace

TEST(RoutesBundle, TheMembersOfAHandMadeBundleAreMergedWithTheirFamilies) {
  test_support::TempDir d;
  const std::string top = d.path() + "/mi-diag-bundle-x/system";
  ASSERT_EQ(test_support::sh("mkdir -p " + top).code, 0);
  write(top + "/routes-ipv4.txt",
        "default via 192.168.1.1 dev eth0 proto dhcp metric 100\n"
        "10.1.0.0/16 dev wg0 scope link\n"
        "192.168.1.0/24 dev eth0 proto kernel scope link src 192.168.1.20\n");
  write(top + "/routes-ipv6.txt", "");
  write(top + "/rules-ipv4.txt", "0:\tfrom all lookup local\n32766:\tfrom all lookup main\n");
  write(top + "/rules-ipv6.txt", "0:\tfrom all lookup local\n32766:\tfrom all lookup main\n");
  write(d.path() + "/mi-diag-bundle-x/report.txt", "not read\n");
  ASSERT_EQ(test_support::sh("cd " + d.path() + " && tar -czf b.tar.gz mi-diag-bundle-x").code, 0);

  auto t = agent::read_bundle_routes(d.path() + "/b.tar.gz", 1 << 20);
  ASSERT_TRUE(t) << t.error().message;
  EXPECT_EQ(t->routes.size(), 3u);
  ASSERT_EQ(t->rules.size(), 4u);
  EXPECT_EQ(t->rules[0].family, 4);
  EXPECT_EQ(t->rules[3].family, 6);
  EXPECT_TRUE(t->unread.empty());

  // The bundle's host had wg0 carrying 10.1.0.0/16 and sent 10.5.0.4 by the default route.
  auto r = routes({"--from-file", d.path() + "/b.tar.gz", "--to", "10.5.0.4"});
  EXPECT_EQ(r.code, 1) << r.out << r.err;
  EXPECT_NE(r.out.find("ROUTE_UNEXPECTED_PATH"), std::string::npos) << r.out;
}

TEST(RoutesBundle, ArchivesThatAreNotBundlesAreExit2WithAReason) {
  test_support::TempDir d;
  // gzip magic, then garbage.
  write(d.path() + "/junk.gz", std::string("\x1f\x8b\x08\x00garbage-garbage-garbage", 27));
  auto junk = routes({"--from-file", d.path() + "/junk.gz"});
  EXPECT_EQ(junk.code, 2);
  EXPECT_NE(junk.err.find("junk.gz"), std::string::npos) << junk.err;

  // A real archive without the route members.
  write(d.path() + "/notes.txt", "hello\n");
  ASSERT_EQ(test_support::sh("cd " + d.path() + " && tar -czf other.tar.gz notes.txt").code, 0);
  auto other = routes({"--from-file", d.path() + "/other.tar.gz"});
  EXPECT_EQ(other.code, 2);
  EXPECT_NE(other.err.find("route members"), std::string::npos) << other.err;

  // A truncated bundle: the first half of a real one.
  ASSERT_EQ(test_support::sh("cd " + d.path() + " && head -c 60 other.tar.gz > cut.tar.gz").code,
            0);
  auto cut = routes({"--from-file", d.path() + "/cut.tar.gz"});
  EXPECT_EQ(cut.code, 2) << cut.err;
}

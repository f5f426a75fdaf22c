// The bundle's archive as an escalation engineer opens it: tar lists one top folder, sha256sum
// accepts SHA256SUMS inside and FILE.sha256 beside it, and a failed write leaves no file.
#include "reports/bundle.h"
#include "tests/unit/support/shell.h"
#include "tests/unit/support/temp_dir.h"

#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <random>
#include <string>

#include <gtest/gtest.h>

namespace midiag::reports {
namespace {

namespace fs = std::filesystem;
using test_support::sh;
using test_support::TempDir;

std::size_t files_in(const std::string& dir) {
  std::size_t n = 0;
  for ([[maybe_unused]] const auto& e : fs::directory_iterator(dir)) ++n;
  return n;
}

std::vector<BundleMember> sample() {
  return {{"manifest.json", "{\"schema\":\"x\"}\n"},
          {"report.txt", "all good\n"},
          {"system/hosts", "127.0.0.1 localhost\n"},
          {"system/resolv.conf", "nameserver 127.0.0.53\n"}};
}

TEST(BundleArchive, OneTopFolderEveryMemberAndChecksumsThatSha256sumAccepts) {
  TempDir d;
  ASSERT_FALSE(d.path().empty());
  const std::string out = d.path() + "/b.tar.gz";
  BundleWriteOptions o;
  o.mtime = 1796000000;  // 2026-11-29T...
  auto w = write_bundle(out, sample(), o);
  ASSERT_TRUE(w) << w.error().message;
  EXPECT_EQ(w->top, bundle_top_folder(o.mtime));
  EXPECT_TRUE(w->top.starts_with("mi-diag-bundle-20")) << w->top;

  auto list = sh("tar -tzf " + out);
  ASSERT_EQ(list.code, 0) << list.out;
  for (const char* m :
       {"manifest.json", "report.txt", "system/hosts", "system/resolv.conf", "SHA256SUMS"})
    EXPECT_NE(list.out.find(w->top + "/" + m + "\n"), std::string::npos) << m << "\n" << list.out;
  std::istringstream lines(list.out);
  for (std::string line; std::getline(lines, line);)
    EXPECT_TRUE(line.starts_with(w->top + "/")) << line;

  ASSERT_EQ(sh("cd " + d.path() + " && tar -xzf b.tar.gz").code, 0);
  auto inside = sh("cd " + d.path() + "/" + w->top + " && sha256sum -c SHA256SUMS");
  EXPECT_EQ(inside.code, 0) << inside.out;
  EXPECT_NE(inside.out.find("system/hosts: OK"), std::string::npos) << inside.out;
  auto beside = sh("cd " + d.path() + " && sha256sum -c b.tar.gz.sha256");
  EXPECT_EQ(beside.code, 0) << beside.out;
  EXPECT_EQ(files_in(d.path()), 3u);  // the archive, its .sha256, the extracted folder
}

TEST(BundleArchive, AChangedMemberFailsSha256sum) {
  TempDir d;
  const std::string out = d.path() + "/b.tar.gz";
  auto w = write_bundle(out, sample());
  ASSERT_TRUE(w) << w.error().message;
  ASSERT_EQ(sh("cd " + d.path() + " && tar -xzf b.tar.gz").code, 0);
  std::ofstream(d.path() + "/" + w->top + "/report.txt") << "tampered\n";
  EXPECT_NE(sh("cd " + d.path() + "/" + w->top + " && sha256sum -c SHA256SUMS").code, 0);
}

TEST(BundleArchive, AMissingDirectoryIsAnErrorAndNothingIsWritten) {
  TempDir d;
  auto w = write_bundle(d.path() + "/no/such/dir/b.tar.gz", sample());
  ASSERT_FALSE(w);
  EXPECT_EQ(w.error().kind, ErrorKind::Usage);
  EXPECT_NE(w.error().message.find("no/such/dir"), std::string::npos) << w.error().message;
  std::ofstream(d.path() + "/file") << "x";
  EXPECT_TRUE(bundle_destination_problem(d.path() + "/file/b.tar.gz").has_value());
  EXPECT_EQ(files_in(d.path()), 1u);
}

TEST(BundleArchive, AnUnwritableDirectoryIsAnError) {
  TempDir d;
  std::string dir = d.path();
  bool mounted = false;
  if (::geteuid() == 0) {
    // Root writes wherever permissions say no; a read-only mount is what stops it.
    dir = d.path() + "/ro";
    fs::create_directory(dir);
    mounted = sh("mount -t tmpfs -o ro,size=4k midiag-bundle-test " + dir).code == 0;
    if (!mounted) GTEST_SKIP() << "a read-only tmpfs cannot be mounted here";
  } else {
    ASSERT_EQ(::chmod(dir.c_str(), 0555), 0);
  }
  auto problem = bundle_destination_problem(dir + "/b.tar.gz");
  auto w = write_bundle(dir + "/b.tar.gz", sample());
  const std::size_t left = files_in(dir);
  if (mounted) sh("umount " + dir);
  ::chmod(d.path().c_str(), 0755);
  ASSERT_TRUE(problem);
  EXPECT_NE(problem->find("not writable"), std::string::npos) << *problem;
  EXPECT_FALSE(w);
  EXPECT_EQ(left, 0u);
}

TEST(BundleArchive, AWriteThatFailsMidArchiveLeavesNoFile) {
  TempDir d;
  std::string noise(256 * 1024, '\0');
  std::mt19937 rng(7);
  for (auto& c : noise) c = static_cast<char>(rng());
  auto members = sample();
  members.push_back({"capture.pcap", noise});
  for (std::size_t after :
       {std::size_t{0}, std::size_t{100}, std::size_t{64 * 1024}, std::size_t{200 * 1024}}) {
    BundleWriteOptions o;
    o.fail_after_bytes = after;
    auto w = write_bundle(d.path() + "/b.tar.gz", members, o);
    ASSERT_FALSE(w) << after;
    EXPECT_NE(w.error().message.find("No space left"), std::string::npos) << w.error().message;
    EXPECT_EQ(files_in(d.path()), 0u) << after;
  }
  // The same members, unbroken, are written (the failure was the sink's, not the input's).
  EXPECT_TRUE(write_bundle(d.path() + "/b.tar.gz", members));
  EXPECT_EQ(files_in(d.path()), 2u);
}

// A real full disk: a 64 KiB tmpfs (root only), unmounted afterwards.
TEST(BundleArchive, ADiskThatFillsLeavesNoPartialFile) {
  if (::geteuid() != 0) GTEST_SKIP() << "mounting a tmpfs needs root";
  TempDir d;
  const std::string mnt = d.path() + "/small";
  fs::create_directory(mnt);
  if (sh("mount -t tmpfs -o size=64k midiag-bundle-test " + mnt).code != 0)
    GTEST_SKIP() << "tmpfs cannot be mounted here";
  std::string noise(512 * 1024, '\0');
  std::mt19937 rng(11);
  for (auto& c : noise) c = static_cast<char>(rng());
  auto members = sample();
  members.push_back({"capture.pcap", noise});
  auto w = write_bundle(mnt + "/b.tar.gz", members);
  const std::size_t left = files_in(mnt);
  sh("umount " + mnt);
  ASSERT_FALSE(w);
  EXPECT_NE(w.error().message.find("No space left"), std::string::npos) << w.error().message;
  EXPECT_EQ(left, 0u);
}

TEST(BundleArchive, Sha256OfKnownInput) {
  EXPECT_EQ(sha256_hex("abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  EXPECT_EQ(sha256sums({{"a", "abc"}}),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad  a\n");
}

}  // namespace
}  // namespace midiag::reports

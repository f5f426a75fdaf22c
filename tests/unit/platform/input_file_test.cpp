// read_input_file: whole regular files or a reason; never a silent cut, never a blocked read.
#include "platform/text/input_file.h"

#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <string>

#include <gtest/gtest.h>

#include "tests/unit/support/temp_dir.h"

using midiag::ErrorKind;
using midiag::platform::read_input_file;

namespace {

using midiag::test_support::TempDir;

bool contains(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

}  // namespace

TEST(InputFile, ReadsARegularFileWhole) {
  TempDir dir;
  std::string content(300 * 1024, 'x');
  content += "\nthe last line\n";
  auto r = read_input_file(dir.file("f", content), 1 << 20, "test file");
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_EQ(*r, content);
}

TEST(InputFile, ExactlyAtTheLimitIsRead) {
  TempDir dir;
  auto r = read_input_file(dir.file("f", std::string(4096, 'a')), 4096, "test file");
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_EQ(r->size(), 4096u);
}

TEST(InputFile, OverTheLimitIsRefusedWithSizeAndLimit) {
  TempDir dir;
  const auto path = dir.track("big");
  { std::ofstream(path) << ""; }
  // Sparse: the size check comes before any read, so this costs no disk.
  ASSERT_EQ(::truncate(path.c_str(), 20 << 20), 0);
  auto r = read_input_file(path, 16 << 20, "resolv.conf");
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().kind, ErrorKind::Usage);
  EXPECT_EQ(r.error().message, "resolv.conf " + path +
                                   ": 20971520 bytes (20.0 MiB), over the 16 MiB limit for it; "
                                   "refused rather than read only in part");
}

TEST(InputFile, MissingFileIsIoWithTheReason) {
  auto r = read_input_file("/nonexistent/mi-diag/x", 100, "hosts file");
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().kind, ErrorKind::Io);
  EXPECT_EQ(r.error().message,
            "hosts file /nonexistent/mi-diag/x: cannot be read: No such file or directory");
}

TEST(InputFile, UnreadableFileIsIoWithTheReason) {
  TempDir dir;
  const auto path = dir.file("secret", "x");
  ASSERT_EQ(::chmod(path.c_str(), 0), 0);
  auto r = read_input_file(path, 100, "--ca-file");
  if (::geteuid() == 0) {  // root reads files whatever their mode (not a skip: CI counts those)
    EXPECT_TRUE(r) << r.error().message;
    return;
  }
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().kind, ErrorKind::Io);
  EXPECT_EQ(r.error().message, "--ca-file " + path + ": cannot be read: Permission denied");
}

TEST(InputFile, DirectoryIsRefused) {
  TempDir dir;
  auto r = read_input_file(dir.path(), 100, "");
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().kind, ErrorKind::Usage);
  EXPECT_EQ(r.error().message, dir.path() + ": is a directory, not a file");
}

TEST(InputFile, FifoIsRefusedWithoutBlocking) {
  TempDir dir;
  const auto path = dir.track("fifo");
  ASSERT_EQ(::mkfifo(path.c_str(), 0600), 0) << std::strerror(errno);
  const auto start = std::chrono::steady_clock::now();
  auto r = read_input_file(path, 100, "resolv.conf");  // no writer: a plain read would hang
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(1));
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().kind, ErrorKind::Usage);
  EXPECT_TRUE(contains(r.error().message, "resolv.conf " + path + ": is a FIFO"))
      << r.error().message;
}

TEST(InputFile, SocketIsRefused) {
  TempDir dir;
  const auto path = dir.track("sock");
  const int fd = ::socket(AF_UNIX, SOCK_STREAM, 0);
  ASSERT_GE(fd, 0);
  sockaddr_un a{};
  a.sun_family = AF_UNIX;
  std::snprintf(a.sun_path, sizeof a.sun_path, "%s", path.c_str());
  ASSERT_EQ(::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a), 0) << std::strerror(errno);
  auto r = read_input_file(path, 100, "x");
  ::close(fd);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().kind, ErrorKind::Usage);
  EXPECT_TRUE(contains(r.error().message, "is a socket")) << r.error().message;
}

TEST(InputFile, DevicesAreRefusedButDevNullIsEmpty) {
  auto zero = read_input_file("/dev/zero", 100, "resolv.conf");
  ASSERT_FALSE(zero);
  EXPECT_EQ(zero.error().kind, ErrorKind::Usage);
  EXPECT_EQ(zero.error().message,
            "resolv.conf /dev/zero: is a character device, not a regular file");
  auto null = read_input_file("/dev/null", 100, "resolv.conf");
  ASSERT_TRUE(null) << null.error().message;
  EXPECT_TRUE(null->empty());
}

TEST(InputFile, SymlinkToARegularFileIsFollowed) {
  // /etc/resolv.conf is often a link to systemd-resolved's file.
  TempDir dir;
  const auto target = dir.file("real", "nameserver 127.0.0.53\n");
  const auto link = dir.track("link");
  ASSERT_EQ(::symlink(target.c_str(), link.c_str()), 0);
  auto r = read_input_file(link, 100, "resolv.conf");
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_EQ(*r, "nameserver 127.0.0.53\n");
}

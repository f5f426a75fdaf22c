#include "platform/posix/unique_fd.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <cerrno>
#include <utility>

namespace midiag {
namespace {

bool is_open(int fd) {
  return ::fcntl(fd, F_GETFD) != -1 || errno != EBADF;
}

// Two fresh descriptors (a pipe's ends), each owned by a UniqueFd.
std::pair<UniqueFd, UniqueFd> make_pipe() {
  int fds[2] = {-1, -1};
  EXPECT_EQ(::pipe2(fds, O_CLOEXEC), 0);
  return {UniqueFd(fds[0]), UniqueFd(fds[1])};
}

TEST(UniqueFd, DefaultIsEmpty) {
  const UniqueFd fd;
  EXPECT_FALSE(fd.valid());
  EXPECT_FALSE(fd);
  EXPECT_EQ(fd.get(), -1);
}

TEST(UniqueFd, ClosesOnDestruction) {
  int raw = -1;
  {
    auto [read_end, write_end] = make_pipe();
    raw = read_end.get();
    ASSERT_TRUE(read_end);
    EXPECT_TRUE(is_open(raw));
  }
  EXPECT_FALSE(is_open(raw));
}

TEST(UniqueFd, MoveTransfersOwnership) {
  auto [read_end, write_end] = make_pipe();
  const int raw = read_end.get();
  UniqueFd moved(std::move(read_end));
  EXPECT_FALSE(read_end.valid());  // NOLINT(bugprone-use-after-move): the point of the test
  EXPECT_EQ(moved.get(), raw);
  UniqueFd assigned;
  assigned = std::move(moved);
  EXPECT_EQ(assigned.get(), raw);
  EXPECT_TRUE(is_open(raw));
}

TEST(UniqueFd, MoveAssignmentClosesWhatWasHeld) {
  auto [read_end, write_end] = make_pipe();
  const int old = read_end.get();
  read_end = std::move(write_end);
  EXPECT_FALSE(is_open(old));
  EXPECT_TRUE(read_end.valid());
}

TEST(UniqueFd, ReleaseGivesUpOwnership) {
  auto [read_end, write_end] = make_pipe();
  const int raw = read_end.release();
  EXPECT_FALSE(read_end.valid());
  EXPECT_TRUE(is_open(raw));  // not closed: the caller owns it now
  ::close(raw);
}

TEST(UniqueFd, ResetClosesAndAdopts) {
  auto [read_end, write_end] = make_pipe();
  const int first = read_end.get();
  const int second = write_end.release();
  read_end.reset(second);
  EXPECT_FALSE(is_open(first));
  EXPECT_EQ(read_end.get(), second);
  read_end.reset();
  EXPECT_FALSE(is_open(second));
  EXPECT_FALSE(read_end);
}

}  // namespace
}  // namespace midiag

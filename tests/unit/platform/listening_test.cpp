// This host's listening TCP ports, as the kernel's socket tables list them.
#include "platform/linux/listening.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <gtest/gtest.h>

TEST(Listening, AListeningSocketIsSeenAndIsNotOnceClosed) {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  ASSERT_GE(fd, 0);
  sockaddr_in sa{};
  sa.sin_family = AF_INET;
  sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(::bind(fd, reinterpret_cast<sockaddr*>(&sa), sizeof sa), 0);
  socklen_t len = sizeof sa;
  ASSERT_EQ(::getsockname(fd, reinterpret_cast<sockaddr*>(&sa), &len), 0);
  const auto port = ntohs(sa.sin_port);
  auto before = midiag::platform::tcp_port_listening(port);
  ASSERT_TRUE(before) << before.error().message;
  EXPECT_FALSE(*before);  // bound, not listening
  ASSERT_EQ(::listen(fd, 1), 0);
  auto during = midiag::platform::tcp_port_listening(port);
  ASSERT_TRUE(during);
  EXPECT_TRUE(*during);
  ::close(fd);
  auto after = midiag::platform::tcp_port_listening(port);
  ASSERT_TRUE(after);
  EXPECT_FALSE(*after);
}

TEST(Listening, NoSocketTablesIsAnErrorNotAnAnswer) {
  auto r = midiag::platform::tcp_port_listening(5022, "/nonexistent");
  EXPECT_FALSE(r);
}

#include "platform/text/input_file.h"

#include "platform/posix/unique_fd.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <system_error>
#include <utility>

namespace midiag::platform {
namespace {

constexpr std::size_t kChunk = 64 * 1024;

using FdGuard = UniqueFd;  // closes the descriptor on every return path

std::string label(const std::string& path, std::string_view what) {
  return what.empty() ? path : std::string(what) + " " + path;
}

// "20971520 bytes (20.0 MiB)": exact for the record, rounded for the reader.
std::string describe_size(std::size_t bytes) {
  char mib[32];
  std::snprintf(mib, sizeof mib, "%.1f MiB", static_cast<double>(bytes) / (1024.0 * 1024.0));
  return std::to_string(bytes) + " bytes (" + mib + ")";
}

std::string describe_limit(std::size_t bytes) {
  if (bytes % (1024 * 1024) == 0) return std::to_string(bytes / (1024 * 1024)) + " MiB";
  if (bytes % 1024 == 0) return std::to_string(bytes / 1024) + " KiB";
  return std::to_string(bytes) + " bytes";
}

// The null device reads as empty: "--resolv-conf /dev/null" is how one says "no configuration".
bool is_null_device(const struct stat& st) {
  struct stat null_st {};
  return S_ISCHR(st.st_mode) && ::stat("/dev/null", &null_st) == 0 && S_ISCHR(null_st.st_mode) &&
         st.st_rdev == null_st.st_rdev;
}

// Why a file of this type is not read, or empty when it may be.
std::string refusal_for_type(const struct stat& st) {
  if (S_ISREG(st.st_mode) || is_null_device(st)) return {};
  if (S_ISDIR(st.st_mode)) return "is a directory, not a file";
  if (S_ISFIFO(st.st_mode))
    return "is a FIFO (named pipe), not a regular file; not read, as that could wait forever";
  if (S_ISSOCK(st.st_mode)) return "is a socket, not a regular file";
  if (S_ISCHR(st.st_mode)) return "is a character device, not a regular file";
  if (S_ISBLK(st.st_mode)) return "is a block device, not a regular file";
  return "is not a regular file";
}

Error too_big(const std::string& name, std::size_t size, std::size_t max_bytes, bool at_least) {
  return make_error(name + ": " + (at_least ? "at least " : "") + describe_size(size) +
                        ", over the " + describe_limit(max_bytes) +
                        " limit for it; refused rather than read only in part",
                    ErrorKind::Usage);
}

}  // namespace

Expected<UniqueFd> open_input_file(const std::string& path, std::string_view what) {
  const std::string name = label(path, what);
  const auto io_error = [&name](int err) {
    return make_error(name + ": cannot be read: " + std::generic_category().message(err),
                      ErrorKind::Io);
  };
  // Look before opening: opening some devices has effects of its own.
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) return io_error(errno);
  if (auto why = refusal_for_type(st); !why.empty())
    return make_error(name + ": " + why, ErrorKind::Usage);

  // O_NONBLOCK: should the path be swapped for a FIFO after the stat, the open still returns.
  FdGuard fd(::open(path.c_str(), O_RDONLY | O_NONBLOCK | O_CLOEXEC | O_NOCTTY));
  if (fd.get() < 0) return io_error(errno);
  if (::fstat(fd.get(), &st) != 0) return io_error(errno);
  if (auto why = refusal_for_type(st); !why.empty())
    return make_error(name + ": " + why, ErrorKind::Usage);
  return Expected<UniqueFd>(std::move(fd));
}

Expected<std::string> read_input_file(const std::string& path, std::size_t max_bytes,
                                      std::string_view what) {
  const std::string name = label(path, what);
  const auto io_error = [&name](int err) {
    return make_error(name + ": cannot be read: " + std::generic_category().message(err),
                      ErrorKind::Io);
  };
  auto opened = open_input_file(path, what);
  if (!opened) return opened.error();
  FdGuard fd = std::move(*opened);
  struct stat st {};
  if (::fstat(fd.get(), &st) != 0) return io_error(errno);
  const auto size = static_cast<std::size_t>(st.st_size > 0 ? st.st_size : 0);
  if (size > max_bytes) return too_big(name, size, max_bytes, false);

  std::string text;
  text.reserve(size);
  char buf[kChunk];
  for (;;) {
    const ssize_t n = ::read(fd.get(), buf, sizeof buf);
    if (n < 0) {
      if (errno == EINTR) continue;
      return io_error(errno);
    }
    if (n == 0) break;
    text.append(buf, static_cast<std::size_t>(n));
    // The file grew after the fstat: still never hand back part of it.
    if (text.size() > max_bytes) return too_big(name, text.size(), max_bytes, true);
  }
  return text;
}

}  // namespace midiag::platform

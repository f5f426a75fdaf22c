#include "reports/bundle.h"

#include <archive.h>
#include <archive_entry.h>
#include <fcntl.h>
#include <openssl/evp.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <memory>

namespace midiag::reports {

namespace {

std::string errno_text(int e) {
  return std::strerror(e);
}

std::string dir_of(const std::string& path) {
  auto parent = std::filesystem::path(path).parent_path().string();
  return parent.empty() ? "." : parent;
}

std::string base_of(const std::string& path) {
  return std::filesystem::path(path).filename().string();
}

// The archive's byte sink: a file descriptor, every byte written or an error with errno.
struct Sink {
  int fd = -1;
  std::size_t written = 0;
  std::optional<std::size_t> fail_after;
  int error = 0;
};

la_ssize_t sink_write(struct archive* a, void* data, const void* buf, size_t len) {
  auto* s = static_cast<Sink*>(data);
  const auto* p = static_cast<const char*>(buf);
  std::size_t left = len;
  while (left > 0) {
    std::size_t n = left;
    if (s->fail_after) {
      if (s->written >= *s->fail_after) {
        s->error = ENOSPC;
        archive_set_error(a, ENOSPC, "%s", errno_text(ENOSPC).c_str());
        return -1;
      }
      n = std::min(n, *s->fail_after - s->written);
    }
    ssize_t w = ::write(s->fd, p, n);
    if (w < 0) {
      if (errno == EINTR) continue;
      s->error = errno;
      archive_set_error(a, errno, "%s", errno_text(errno).c_str());
      return -1;
    }
    p += w;
    left -= static_cast<std::size_t>(w);
    s->written += static_cast<std::size_t>(w);
  }
  return static_cast<la_ssize_t>(len);
}

// A temporary file beside the destination; removed unless released.
struct TempFile {
  std::string path;
  int fd = -1;
  bool keep = false;
  ~TempFile() {
    if (fd >= 0) ::close(fd);
    if (!keep && !path.empty()) ::unlink(path.c_str());
  }
};

Expected<bool> open_temp(TempFile& t, const std::string& dest) {
  std::string tmpl = dir_of(dest) + "/." + base_of(dest) + ".tmp-XXXXXX";
  std::vector<char> buf(tmpl.begin(), tmpl.end());
  buf.push_back('\0');
  int fd = ::mkstemp(buf.data());
  if (fd < 0)
    return make_error("cannot create a file in " + dir_of(dest) + ": " + errno_text(errno),
                      ErrorKind::Io);
  t.fd = fd;
  t.path = buf.data();
  return true;
}

Expected<bool> finish_temp(TempFile& t, const std::string& dest) {
  if (::fsync(t.fd) != 0)
    return make_error("cannot write " + dest + ": " + errno_text(errno), ErrorKind::Io);
  const int fd = t.fd;
  t.fd = -1;
  if (::close(fd) != 0)
    return make_error("cannot write " + dest + ": " + errno_text(errno), ErrorKind::Io);
  if (::rename(t.path.c_str(), dest.c_str()) != 0)
    return make_error("cannot rename to " + dest + ": " + errno_text(errno), ErrorKind::Io);
  t.keep = true;
  return true;
}

Expected<bool> write_all(int fd, std::string_view data, const std::string& what) {
  while (!data.empty()) {
    ssize_t w = ::write(fd, data.data(), data.size());
    if (w < 0) {
      if (errno == EINTR) continue;
      return make_error("cannot write " + what + ": " + errno_text(errno), ErrorKind::Io);
    }
    data.remove_prefix(static_cast<std::size_t>(w));
  }
  return true;
}

Expected<bool> add_entry(struct archive* a, const std::string& name, std::string_view data,
                         bool dir, std::time_t mtime) {
  std::unique_ptr<archive_entry, decltype(&archive_entry_free)> e(archive_entry_new(),
                                                                  archive_entry_free);
  archive_entry_set_pathname(e.get(), name.c_str());
  archive_entry_set_filetype(e.get(), dir ? AE_IFDIR : AE_IFREG);
  archive_entry_set_perm(e.get(), dir ? 0755 : 0644);
  archive_entry_set_size(e.get(), dir ? 0 : static_cast<la_int64_t>(data.size()));
  archive_entry_set_mtime(e.get(), mtime, 0);
  archive_entry_set_uname(e.get(), "root");
  archive_entry_set_gname(e.get(), "root");
  if (archive_write_header(a, e.get()) != ARCHIVE_OK)
    return make_error(archive_error_string(a) ? archive_error_string(a) : "archive header failed",
                      ErrorKind::Io);
  std::size_t off = 0;
  while (off < data.size()) {
    const std::size_t n = std::min<std::size_t>(data.size() - off, 1U << 16);
    la_ssize_t w = archive_write_data(a, data.data() + off, n);
    if (w <= 0)
      return make_error(archive_error_string(a) ? archive_error_string(a) : "archive write failed",
                        ErrorKind::Io);
    off += static_cast<std::size_t>(w);
  }
  if (archive_write_finish_entry(a) != ARCHIVE_OK)
    return make_error(archive_error_string(a) ? archive_error_string(a) : "archive write failed",
                      ErrorKind::Io);
  return true;
}

}  // namespace

std::string bundle_top_folder(std::time_t t) {
  std::tm tm{};
  gmtime_r(&t, &tm);
  std::array<char, 32> buf{};
  std::strftime(buf.data(), buf.size(), "%Y%m%dT%H%M%SZ", &tm);
  return std::string("mi-diag-bundle-") + buf.data();
}

std::string sha256_hex(std::string_view data) {
  std::array<unsigned char, EVP_MAX_MD_SIZE> md{};
  unsigned int len = 0;
  EVP_Digest(data.data(), data.size(), md.data(), &len, EVP_sha256(), nullptr);
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  for (unsigned int i = 0; i < len; ++i) {
    out += kHex[md[i] >> 4];
    out += kHex[md[i] & 0xF];
  }
  return out;
}

std::string sha256sums(const std::vector<BundleMember>& members) {
  std::string out;
  for (const auto& m : members) out += sha256_hex(m.data) + "  " + m.name + "\n";
  return out;
}

std::optional<std::string> bundle_destination_problem(const std::string& path) {
  if (path.empty()) return "no output file given";
  if (path.back() == '/') return path + " is a directory; give a file name";
  const std::string dir = dir_of(path);
  struct stat st {};
  if (::stat(dir.c_str(), &st) != 0) return "directory " + dir + ": " + errno_text(errno);
  if (!S_ISDIR(st.st_mode)) return dir + " is not a directory";
  if (::access(dir.c_str(), W_OK | X_OK) != 0)
    return "directory " + dir + " is not writable: " + errno_text(errno);
  if (::stat(path.c_str(), &st) == 0 && S_ISDIR(st.st_mode)) return path + " is a directory";
  // Permission bits do not say everything (root passes access() on /proc or /sys, where no file
  // can be made): create and remove a file of the archive's temporary kind, before any traffic.
  std::string probe = dir + "/.mi-diag-bundle-check-XXXXXX";
  const int fd = ::mkstemp(probe.data());
  if (fd < 0) return "cannot create a file in " + dir + ": " + errno_text(errno);
  ::close(fd);
  ::unlink(probe.c_str());
  return std::nullopt;
}

Expected<BundleWritten> write_bundle(const std::string& path,
                                     const std::vector<BundleMember>& members,
                                     const BundleWriteOptions& options) {
  if (auto problem = bundle_destination_problem(path))
    return make_error("cannot write the bundle: " + *problem, ErrorKind::Usage);
  const std::time_t mtime = options.mtime != 0 ? options.mtime : std::time(nullptr);
  const std::string top = bundle_top_folder(mtime);
  for (const auto& m : members)
    if (m.name.empty() || m.name == "SHA256SUMS" || m.name.starts_with('/') ||
        m.name.find("..") != std::string::npos)
      return make_error("bad bundle member name '" + m.name + "'");

  TempFile archive_file;
  if (auto r = open_temp(archive_file, path); !r) return r.error();
  Sink sink{archive_file.fd, 0, options.fail_after_bytes, 0};
  std::unique_ptr<struct archive, decltype(&archive_write_free)> a(archive_write_new(),
                                                                   archive_write_free);
  if (!a) return make_error("libarchive: out of memory", ErrorKind::Resource);
  archive_write_add_filter_gzip(a.get());
  archive_write_set_format_pax_restricted(a.get());
  archive_write_set_bytes_in_last_block(a.get(), 1);
  if (archive_write_open(a.get(), &sink, nullptr, sink_write, nullptr) != ARCHIVE_OK)
    return make_error(std::string("cannot start the archive: ") + archive_error_string(a.get()),
                      ErrorKind::Io);

  auto fail = [&](const Error& e) {
    return make_error("cannot write " + path + ": " + e.message, e.kind);
  };
  if (auto r = add_entry(a.get(), top + "/", {}, true, mtime); !r) return fail(r.error());
  // Directories of nested members (system/), once each, before their files.
  std::vector<std::string> dirs;
  for (const auto& m : members) {
    for (auto slash = m.name.find('/'); slash != std::string::npos;
         slash = m.name.find('/', slash + 1)) {
      std::string d = m.name.substr(0, slash + 1);
      if (std::find(dirs.begin(), dirs.end(), d) != dirs.end()) continue;
      dirs.push_back(d);
      if (auto r = add_entry(a.get(), top + "/" + d, {}, true, mtime); !r) return fail(r.error());
    }
    if (auto r = add_entry(a.get(), top + "/" + m.name, m.data, false, mtime); !r)
      return fail(r.error());
  }
  if (auto r = add_entry(a.get(), top + "/SHA256SUMS", sha256sums(members), false, mtime); !r)
    return fail(r.error());
  if (archive_write_close(a.get()) != ARCHIVE_OK)
    return fail(make_error(
        archive_error_string(a.get()) ? archive_error_string(a.get()) : "archive close failed",
        ErrorKind::Io));
  if (sink.error != 0) return fail(make_error(errno_text(sink.error), ErrorKind::Io));

  // The archive's own checksum, from what is on disk.
  std::string bytes;
  {
    if (::lseek(archive_file.fd, 0, SEEK_SET) < 0)
      return fail(make_error(errno_text(errno), ErrorKind::Io));
    std::array<char, 1 << 16> buf{};
    for (;;) {
      ssize_t n = ::read(archive_file.fd, buf.data(), buf.size());
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) return fail(make_error(errno_text(errno), ErrorKind::Io));
      if (n == 0) break;
      bytes.append(buf.data(), static_cast<std::size_t>(n));
    }
  }
  BundleWritten out{path, top, sha256_hex(bytes), bytes.size()};

  TempFile sum_file;
  const std::string sum_path = path + ".sha256";
  if (auto r = open_temp(sum_file, sum_path); !r) return r.error();
  if (auto r = write_all(sum_file.fd, out.sha256 + "  " + base_of(path) + "\n", sum_path); !r)
    return r.error();
  if (auto r = finish_temp(archive_file, path); !r) return r.error();
  if (auto r = finish_temp(sum_file, sum_path); !r) {
    ::unlink(path.c_str());  // an archive without its checksum is not what was asked for
    return r.error();
  }
  return out;
}

}  // namespace midiag::reports

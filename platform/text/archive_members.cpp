#include "platform/text/archive_members.h"

#include <archive.h>
#include <archive_entry.h>

#include <memory>

#include "platform/text/input_file.h"

namespace midiag::platform {

bool looks_like_archive(std::string_view head) {
  const bool gzip = head.size() >= 2 && static_cast<unsigned char>(head[0]) == 0x1f &&
                    static_cast<unsigned char>(head[1]) == 0x8b;
  const bool tar = head.size() >= 262 && head.substr(257, 5) == "ustar";
  return gzip || tar;
}

Expected<std::map<std::string, std::string>> read_archive_members(
    const std::string& path, const std::function<bool(std::string_view)>& wanted,
    std::size_t max_bytes, std::size_t max_entries) {
  auto fd = open_input_file(path, "--from-file");  // refuses FIFOs, devices, directories
  if (!fd) return fd.error();
  std::unique_ptr<struct archive, decltype(&archive_read_free)> a(archive_read_new(),
                                                                  &archive_read_free);
  if (!a) return make_error("--from-file " + path + ": out of memory", ErrorKind::Io);
  archive_read_support_filter_gzip(a.get());
  archive_read_support_format_tar(a.get());
  if (archive_read_open_fd(a.get(), fd->get(), 64 * 1024) != ARCHIVE_OK)
    return make_error("--from-file " + path + ": not a readable .tar.gz (" +
                          std::string(archive_error_string(a.get()) ? archive_error_string(a.get())
                                                                    : "unknown format") +
                          ")",
                      ErrorKind::Usage);
  std::map<std::string, std::string> out;
  std::size_t total = 0;
  archive_entry* e = nullptr;
  for (std::size_t n = 0;; ++n) {
    if (n >= max_entries)
      return make_error("--from-file " + path + ": more than " + std::to_string(max_entries) +
                            " members, not a mi-diag bundle",
                        ErrorKind::Usage);
    const int r = archive_read_next_header(a.get(), &e);
    if (r == ARCHIVE_EOF) break;
    if (r != ARCHIVE_OK && r != ARCHIVE_WARN)
      return make_error(
          "--from-file " + path + ": the archive is damaged (" +
              std::string(archive_error_string(a.get()) ? archive_error_string(a.get())
                                                        : "unreadable header") +
              ")",
          ErrorKind::Usage);
    if (archive_entry_filetype(e) != AE_IFREG) continue;
    const char* raw = archive_entry_pathname(e);
    std::string_view name = raw ? raw : "";
    // The bundle's one top folder ("mi-diag-bundle-.../system/x" -> "system/x").
    if (auto slash = name.find('/'); slash != std::string_view::npos) name.remove_prefix(slash + 1);
    if (!wanted(name)) continue;
    std::string data;
    char buf[64 * 1024];
    for (;;) {
      const la_ssize_t got = archive_read_data(a.get(), buf, sizeof buf);
      if (got < 0)
        return make_error("--from-file " + path + ": member " + std::string(name) +
                              " is damaged (" + std::string(archive_error_string(a.get())) + ")",
                          ErrorKind::Usage);
      if (got == 0) break;
      total += static_cast<std::size_t>(got);
      if (total > max_bytes)
        return make_error("--from-file " + path + ": the members read exceed " +
                              std::to_string(max_bytes) + " bytes",
                          ErrorKind::Usage);
      data.append(buf, static_cast<std::size_t>(got));
    }
    out[std::string(name)] = std::move(data);
  }
  return out;
}

}  // namespace midiag::platform

#include "platform/capture/live_capture.h"

#include <poll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <chrono>
#include <condition_variable>
#include <mutex>
#include <optional>
#include <utility>

#include <pcap/pcap.h>

#include "platform/posix/unique_fd.h"

namespace midiag::platform {

struct LiveCapture::Impl {
  pcap_t* handle = nullptr;
  pcap_dumper_t* dumper = nullptr;
  LiveCaptureOptions options;
  mutable std::mutex mutex;
  UniqueFd wake{
      ::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK)};  // stop() and set_filter() wake the thread
  std::optional<std::string> pending_filter;
  std::optional<Expected<bool>> filter_result;
  std::condition_variable filter_applied;
  std::vector<CapturedPacket> packets;
  // The thread has taken its last packet and closed the dump file; it then closes the handle
  // (unmapping the ring takes about a millisecond) while the caller goes on.
  bool drained = false;
  std::condition_variable drained_cv;
  std::size_t kept_bytes = 0;
  LiveCaptureStats stats;
  // The kernel's count (passed the filter, not dropped) when the filter was set: what it counts
  // beyond this and the thread has not seen yet is still in an open block (batched mode).
  std::uint64_t kernel_baseline = 0;
  // The packets seen as the kernel counts them: a loopback packet twice (leaving and arriving;
  // libpcap passes on only the arriving copy), any other once.
  std::uint64_t kernel_weighted_seen = 0;
  bool on_loopback = false;  // the capture's interface is "lo"

  ~Impl() {
    if (dumper != nullptr) pcap_dump_close(dumper);
    if (handle != nullptr) pcap_close(handle);
  }
};

namespace {

Error activation_error(pcap_t* p, int rc, const std::string& interface) {
  const std::string why = pcap_geterr(p);
  switch (rc) {
    case PCAP_ERROR_PERM_DENIED:
      return make_error(
          "no permission to capture on " + interface + " (needs root or CAP_NET_RAW): " + why,
          ErrorKind::Permission);
    case PCAP_ERROR_NO_SUCH_DEVICE:
      return make_error("no interface named '" + interface + "': " + why, ErrorKind::Usage);
    case PCAP_ERROR_IFACE_NOT_UP:
      return make_error("interface " + interface + " is down: " + why, ErrorKind::Usage);
    default:
      return make_error("cannot capture on " + interface + ": " + pcap_statustostr(rc) +
                            (why.empty() ? "" : " (" + why + ")"),
                        ErrorKind::Io);
  }
}

// A frame of the "any" interface's cooked headers that names the loopback device type.
bool is_loopback_frame(int link_type, const ::pcap_pkthdr* h, const unsigned char* bytes) {
  constexpr unsigned kArphrdLoopback = 772;
  std::size_t at = 0;
  if (link_type == DLT_LINUX_SLL)
    at = 2;
  else if (link_type == DLT_LINUX_SLL2)
    at = 8;
  else
    return false;
  return h->caplen >= at + 2 && (unsigned{bytes[at]} << 8 | bytes[at + 1]) == kArphrdLoopback;
}

Expected<bool> apply_filter(pcap_t* p, const std::string& filter) {
  bpf_program prog{};
  if (pcap_compile(p, &prog, filter.c_str(), 1, PCAP_NETMASK_UNKNOWN) != 0)
    return make_error("capture filter '" + filter + "' does not compile: " + pcap_geterr(p),
                      ErrorKind::Usage);
  const int set = pcap_setfilter(p, &prog);
  pcap_freecode(&prog);
  if (set != 0)
    return make_error(std::string("cannot set the capture filter: ") + pcap_geterr(p),
                      ErrorKind::Io);
  return true;
}

}  // namespace

// libpcap handles are not thread-safe: the capture thread applies the new filter between two
// dispatches, woken by the eventfd, and this call waits for it (a bounded wait).
Expected<bool> LiveCapture::set_filter(const std::string& filter) {
  std::unique_lock lock(impl_->mutex);
  if (stopping_.load() || impl_->handle == nullptr)
    return make_error("the capture has stopped", ErrorKind::Usage);
  if (!thread_.joinable()) return apply_filter(impl_->handle, filter);
  impl_->pending_filter = filter;
  impl_->filter_result.reset();
  const std::uint64_t one = 1;
  (void)!::write(impl_->wake.get(), &one, sizeof one);
  if (!impl_->filter_applied.wait_for(lock, std::chrono::seconds(2),
                                      [&] { return impl_->filter_result.has_value(); }))
    return make_error("the capture thread did not take the new filter", ErrorKind::TimedOut);
  auto result = std::move(*impl_->filter_result);
  impl_->filter_result.reset();
  return result;
}

Expected<std::unique_ptr<LiveCapture>> LiveCapture::start(const LiveCaptureOptions& options) {
  char errbuf[PCAP_ERRBUF_SIZE] = {};
  std::unique_ptr<LiveCapture> cap(new LiveCapture());
  cap->impl_ = std::make_unique<Impl>();
  cap->impl_->options = options;
  pcap_t* p = pcap_create(options.interface.c_str(), errbuf);
  if (p == nullptr)
    return make_error("cannot capture on " + options.interface + ": " + errbuf, ErrorKind::Io);
  cap->impl_->handle = p;
  pcap_set_snaplen(p, options.snaplen);
  pcap_set_promisc(p, 0);  // only this host's own traffic is of interest
  // Batched: a block is handed over at the latest after one timer tick (4 ms at HZ=250).
  pcap_set_timeout(p, options.immediate ? 100 : 1);
  pcap_set_buffer_size(p, options.buffer_bytes);
  pcap_set_immediate_mode(p, options.immediate ? 1 : 0);
  if (int rc = pcap_activate(p); rc < 0) return activation_error(p, rc, options.interface);
  if (!options.filter.empty())
    if (auto set = apply_filter(p, options.filter); !set) return set.error();
  if (pcap_setnonblock(p, 1, errbuf) != 0)
    return make_error(std::string("cannot make the capture non-blocking: ") + errbuf,
                      ErrorKind::Io);
  if (!options.write_path.empty()) {
    cap->impl_->dumper = pcap_dump_open(p, options.write_path.c_str());
    if (cap->impl_->dumper == nullptr)
      return make_error("cannot write the capture to " + options.write_path + ": " + pcap_geterr(p),
                        ErrorKind::Usage);
  }
  if (pcap_stat ps{}; pcap_stats(p, &ps) == 0)
    cap->impl_->kernel_baseline = ps.ps_recv - ps.ps_drop;
  cap->link_type_ = pcap_datalink(p);
  cap->impl_->on_loopback = options.interface == "lo";
  cap->impl_->stats.link_type = cap->link_type_;
  cap->thread_ = std::thread([raw = cap.get()] { raw->run(); });
  return cap;
}

void LiveCapture::run() {
  pcap_t* p = impl_->handle;
  auto* user = reinterpret_cast<u_char*>(this);
  pollfd fds[2] = {{pcap_get_selectable_fd(p), POLLIN, 0}, {impl_->wake.get(), POLLIN, 0}};
  while (!stopping_.load()) {
    // The timeout bounds the wait should either descriptor be unusable.
    ::poll(fds, 2, 100);
    if (fds[1].revents & POLLIN) {
      std::uint64_t n = 0;
      (void)!::read(impl_->wake.get(), &n, sizeof n);
    }
    pcap_dispatch(p, -1, on_packet, user);
    std::lock_guard lock(impl_->mutex);
    if (impl_->pending_filter) {
      impl_->filter_result = apply_filter(p, *impl_->pending_filter);
      impl_->pending_filter.reset();
      impl_->filter_applied.notify_all();
    }
  }
  // What the kernel still holds: everything sent before stop() was called.
  for (int i = 0; i < 1000 && pcap_dispatch(p, -1, on_packet, user) > 0; ++i) {
  }
  if (impl_->options.immediate) return finish();
  // Batched: the last packets may sit in a block the kernel has not handed over yet; it does at
  // the next timer tick. Wait for it only while the kernel counts packets not seen here, and no
  // longer than a few ticks (packets still arriving after stop() do not hold it up).
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(30);
  while (std::chrono::steady_clock::now() < deadline) {
    pcap_stat ps{};
    if (pcap_stats(p, &ps) != 0) break;
    const std::uint64_t counted = ps.ps_recv - ps.ps_drop - impl_->kernel_baseline;
    std::uint64_t seen = 0;
    {
      std::lock_guard lock(impl_->mutex);
      seen = impl_->kernel_weighted_seen;
    }
    if (seen >= counted) break;
    pollfd fd{pcap_get_selectable_fd(p), POLLIN, 0};
    ::poll(&fd, 1, 10);
    pcap_dispatch(p, -1, on_packet, user);
  }
  finish();
}

void LiveCapture::finish() {
  std::unique_lock lock(impl_->mutex);
  pcap_stat ps{};
  if (impl_->handle != nullptr && pcap_stats(impl_->handle, &ps) == 0)
    impl_->stats.kernel_dropped = ps.ps_drop;
  if (impl_->dumper != nullptr) {
    pcap_dump_flush(impl_->dumper);
    pcap_dump_close(impl_->dumper);
    impl_->dumper = nullptr;
  }
  impl_->drained = true;
  impl_->drained_cv.notify_all();
  pcap_t* handle = std::exchange(impl_->handle, nullptr);
  lock.unlock();
  if (handle != nullptr) pcap_close(handle);
}

void LiveCapture::on_packet(unsigned char* user, const ::pcap_pkthdr* h,
                            const unsigned char* bytes) {
  auto* self = reinterpret_cast<LiveCapture*>(user);
  Impl& impl = *self->impl_;
  // Microsecond timestamps, libpcap's default precision (the dump file keeps the same).
  const std::int64_t ts_ns =
      static_cast<std::int64_t>(h->ts.tv_sec) * 1'000'000'000 + h->ts.tv_usec * 1'000;
  std::lock_guard lock(impl.mutex);
  ++impl.stats.packets;
  impl.kernel_weighted_seen +=
      impl.on_loopback || is_loopback_frame(self->link_type_, h, bytes) ? 2 : 1;
  if (impl.dumper != nullptr) pcap_dump(reinterpret_cast<u_char*>(impl.dumper), h, bytes);
  if (impl.packets.size() >= impl.options.max_packets ||
      impl.kept_bytes + h->caplen > impl.options.max_bytes) {
    ++impl.stats.not_kept;
    return;
  }
  impl.packets.push_back({ts_ns, h->len, std::vector<std::uint8_t>(bytes, bytes + h->caplen)});
  impl.kept_bytes += h->caplen;
}

// Returns once the thread has taken the last packets and closed the dump file, without waiting
// for it to close the handle (the destructor joins it).
void LiveCapture::stop() {
  if (thread_.joinable()) {
    if (!stopping_.exchange(true)) {
      const std::uint64_t one = 1;
      (void)!::write(impl_->wake.get(), &one, sizeof one);
    }
    std::unique_lock lock(impl_->mutex);
    impl_->drained_cv.wait(lock, [&] { return impl_->drained; });
    return;
  }
  stopping_.store(true);
  if (!impl_->drained) finish();
}

LiveCapture::~LiveCapture() {
  stop();
  if (thread_.joinable()) thread_.join();
}

std::vector<CapturedPacket> LiveCapture::packets() const {
  std::lock_guard lock(impl_->mutex);
  return impl_->packets;
}

LiveCaptureStats LiveCapture::stats() const {
  std::lock_guard lock(impl_->mutex);
  return impl_->stats;
}

}  // namespace midiag::platform

#include "probes/tds/tds_probe.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <system_error>

#include <openssl/crypto.h>

#include "decoders/tds/login7.h"
#include "decoders/tds/packet.h"
#include "decoders/tls/records.h"
#include "platform/posix/unique_fd.h"
#include "probes/net/address.h"

namespace midiag::tdsprobe {

std::string_view to_string(Stage s) {
  switch (s) {
    case Stage::Connect:
      return "connect";
    case Stage::Prelogin:
      return "prelogin";
    case Stage::Tls:
      return "tls";
    case Stage::Login:
      return "login";
    case Stage::Complete:
      return "complete";
  }
  return "complete";
}

std::string_view to_string(LoginOutcome o) {
  switch (o) {
    case LoginOutcome::None:
      return "none";
    case LoginOutcome::LoginAck:
      return "loginack";
    case LoginOutcome::Routing:
      return "routing";
    case LoginOutcome::Error:
      return "error";
  }
  return "none";
}

void wipe(std::string& secret) {
  if (!secret.empty()) OPENSSL_cleanse(secret.data(), secret.size());
  secret.clear();
}

void wipe(std::vector<std::uint8_t>& secret) {
  if (!secret.empty()) OPENSSL_cleanse(secret.data(), secret.size());
  secret.clear();
}

Credentials& Credentials::operator=(const Credentials& other) {
  if (this != &other) {
    wipe(password);
    user = other.user;
    password = other.password;
  }
  return *this;
}

// A moved-from string may keep its heap buffer (or its inline bytes): wipe what stays behind.
Credentials::Credentials(Credentials&& other) noexcept
    : user(std::move(other.user)), password(other.password) {
  wipe(other.password);
}

Credentials& Credentials::operator=(Credentials&& other) noexcept {
  if (this != &other) {
    wipe(password);
    user = std::move(other.user);
    password = other.password;
    wipe(other.password);
  }
  return *this;
}

Credentials::~Credentials() {
  wipe(password);
}

std::optional<std::string> withhold_reason(const Options& options, tds::Negotiated negotiated,
                                           const std::optional<TlsFacts>& tls) {
  if (!options.credentials) return std::nullopt;
  if (negotiated == tds::Negotiated::None || negotiated == tds::Negotiated::Terminate)
    return "the server offered no TLS: the password would cross the network only XOR-obfuscated, "
           "readable by anyone on the path";
  if (!tls) return "no TLS session was established";
  if (tls->version_number != 0 && tls->version_number < 0x0303)
    return "the session negotiated " + tls->version + ", below the TLS 1.2 minimum";
  if (options.trust_server_certificate) return std::nullopt;
  if (tls->chain.empty()) return "the server presented no certificate";
  if (!tls->trusted)
    return "the server certificate does not verify (" + tls->verify_error +
           "); a driver that validates refuses it (--trust-server-certificate relaxes this)";
  if (!tls->name_matches) {
    const auto& name = options.host_name_in_certificate.empty() ? options.server_name
                                                                : options.host_name_in_certificate;
    return "the server certificate does not cover " + name +
           "; a driver that validates refuses it (--trust-server-certificate relaxes this)";
  }
  return std::nullopt;
}

namespace {

using Clock = std::chrono::steady_clock;
constexpr std::size_t kMaxResponse = 1024 * 1024;  // a login answer is a few hundred bytes

std::string hex(std::span<const std::uint8_t> b, std::size_t max = 32) {
  static const char* digits = "0123456789abcdef";
  std::string s;
  for (std::size_t i = 0; i < b.size() && i < max; ++i) {
    if (i) s += ' ';
    s += digits[b[i] >> 4];
    s += digits[b[i] & 0xF];
  }
  if (b.size() > max) s += " ...";
  return s;
}

// The first bytes as text when they are text ("HTTP/1.1 400 ..."), else as hex.
std::string printable(std::span<const std::uint8_t> b) {
  std::string text;
  for (std::size_t i = 0; i < b.size() && i < 24; ++i) {
    if (b[i] == '\r' || b[i] == '\n') break;
    if (b[i] < 0x20 || b[i] > 0x7e) return "bytes " + hex(b, 8);
    text += static_cast<char>(b[i]);
  }
  return "\"" + text + "\"";
}

// A socket with one deadline for everything done on it.
class Conn {
 public:
  explicit Conn(Clock::time_point deadline) : deadline_(deadline) {}
  Conn(const Conn&) = delete;
  Conn& operator=(const Conn&) = delete;

  Expected<bool> connect(const std::string& address, std::uint16_t port, int mss) {
    auto ip = net::parse_ip(address);
    if (!ip) return make_error("'" + address + "' is not a numeric address");
    sockaddr_storage ss{};
    socklen_t len = 0;
    if (ip->is_v4()) {
      auto* a = reinterpret_cast<sockaddr_in*>(&ss);
      a->sin_family = AF_INET;
      a->sin_port = htons(port);
      std::memcpy(&a->sin_addr, ip->bytes.data(), 4);
      len = sizeof(sockaddr_in);
    } else {
      auto* a = reinterpret_cast<sockaddr_in6*>(&ss);
      a->sin6_family = AF_INET6;
      a->sin6_port = htons(port);
      std::memcpy(&a->sin6_addr, ip->bytes.data(), 16);
      len = sizeof(sockaddr_in6);
    }
    fd_.reset(::socket(ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
    if (!fd_) return make_error(std::system_category().message(errno));
    int one = 1;
    setsockopt(fd_.get(), IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    if (mss > 0 && setsockopt(fd_.get(), IPPROTO_TCP, TCP_MAXSEG, &mss, sizeof mss) != 0)
      return make_error("cannot set TCP_MAXSEG " + std::to_string(mss) + ": " +
                        std::system_category().message(errno));
    if (::connect(fd_.get(), reinterpret_cast<sockaddr*>(&ss), len) != 0 && errno != EINPROGRESS)
      return make_error(std::system_category().message(errno));
    if (!wait(POLLOUT))
      return make_error("no answer to the connection attempt before the deadline",
                        ErrorKind::TimedOut);
    int err = 0;
    socklen_t elen = sizeof err;
    getsockopt(fd_.get(), SOL_SOCKET, SO_ERROR, &err, &elen);
    if (err != 0) return make_error(std::system_category().message(err));
    return true;
  }

  Expected<bool> send_all(std::span<const std::uint8_t> bytes) {
    std::size_t sent = 0;
    while (sent < bytes.size()) {
      ssize_t n = ::send(fd_.get(), bytes.data() + sent, bytes.size() - sent, MSG_NOSIGNAL);
      if (n > 0) {
        sent += static_cast<std::size_t>(n);
        continue;
      }
      if (n < 0 && errno != EAGAIN && errno != EINTR)
        return make_error("send failed: " + std::system_category().message(errno),
                          errno == ECONNRESET || errno == EPIPE ? ErrorKind::Reset : ErrorKind::Io);
      if (!wait(POLLOUT))
        return make_error("the server stopped accepting data before the deadline",
                          ErrorKind::TimedOut);
    }
    return true;
  }

  // Some bytes, or an empty vector at EOF; an Error on reset or at the deadline.
  Expected<std::vector<std::uint8_t>> recv_some() {
    if (!wait(POLLIN)) return make_error("no data before the deadline", ErrorKind::TimedOut);
    std::vector<std::uint8_t> buf(16384);
    ssize_t n = ::recv(fd_.get(), buf.data(), buf.size(), 0);
    if (n < 0)
      return errno == ECONNRESET ? make_error("reset", ErrorKind::Reset)
                                 : make_error(std::system_category().message(errno), ErrorKind::Io);
    buf.resize(static_cast<std::size_t>(n));
    return buf;
  }

  // The segment size TCP settled on (the peer's MSS option, our route's MTU).
  [[nodiscard]] int mss() const {
    int v = 0;
    socklen_t len = sizeof v;
    return getsockopt(fd_.get(), IPPROTO_TCP, TCP_MAXSEG, &v, &len) == 0 ? v : 0;
  }

 private:
  bool wait(short events) {
    for (int guard = 0; guard < 100000; ++guard) {
      auto left =
          std::chrono::duration_cast<std::chrono::milliseconds>(deadline_ - Clock::now()).count();
      if (left <= 0) return false;
      pollfd p{fd_.get(), events, 0};
      int rc = ::poll(&p, 1, static_cast<int>(left));
      if (rc > 0) return true;
      if (rc < 0 && errno != EINTR) return false;
    }
    return false;
  }
  Clock::time_point deadline_;
  UniqueFd fd_;
};

// Why a read did not produce a message, for the report.
// How a read ended without a message: bad bytes, the deadline, or the server's FIN/RST.
enum class Ending { Malformed, TimedOut, Closed };

struct ReadFailure {
  std::string what;
  Ending ending = Ending::Malformed;
  bool stalled = false;  // timed out after some of the answer had arrived
  std::size_t bytes = 0;
  std::string first_hex;
};

constexpr std::size_t kMaxHandshakeKept = 64 * 1024;  // a server flight is a few KiB

void keep(std::vector<std::uint8_t>& into, std::span<const std::uint8_t> bytes) {
  const std::size_t n =
      std::min(bytes.size(), kMaxHandshakeKept - std::min(into.size(), kMaxHandshakeKept));
  into.insert(into.end(), bytes.begin(), bytes.begin() + static_cast<std::ptrdiff_t>(n));
}

// Carries TDS messages either on the bare socket or inside TLS records.
class Channel {
 public:
  explicit Channel(Conn& conn) : conn_(conn), reader_(kMaxResponse) {}
  void use_tls(TlsClient* tls) { tls_ = tls; }

  Expected<bool> send(tds::PacketType type, std::span<const std::uint8_t> payload) {
    auto framed = tds::frame(type, payload);
    // The framed copy of a LOGIN7 holds the (obfuscated) password: wipe it once sent.
    struct Wiper {
      std::vector<std::uint8_t>& bytes;
      ~Wiper() { wipe(bytes); }
    } wiper{framed};
    if (tls_ == nullptr) return conn_.send_all(framed);
    if (auto w = tls_->write(framed); !w) return w.error();
    return conn_.send_all(tls_->take_output());
  }

  // The next complete TDS message, or why there is none.
  std::variant<tds::Message, ReadFailure> read_message() {
    for (int guard = 0; guard < 100000 && !reader_.has_message(); ++guard) {
      if (reader_.failed()) return fail("not TDS: " + reader_.error(), Ending::Malformed);
      auto got = conn_.recv_some();
      if (!got) {
        switch (got.error().kind) {
          case ErrorKind::TimedOut:
            return fail(seen_.empty() ? "no answer before the deadline"
                                      : "the answer stopped arriving before the deadline",
                        Ending::TimedOut);
          case ErrorKind::Reset:
            return fail("connection reset by the server", Ending::Closed);
          default:
            return fail("receive failed: " + got.error().message, Ending::Malformed);
        }
      }
      if (got->empty()) return fail("the server closed the connection", Ending::Closed);
      if (seen_.size() < 64) seen_.insert(seen_.end(), got->begin(), got->end());
      received_ += got->size();
      // A server's TDS answer starts with packet type 0x04 (or 0x12 during TLS): anything else
      // is another protocol, named now instead of waiting for a length that means nothing.
      if (tls_ == nullptr && received_ == got->size() && (*got)[0] != 0x04 && (*got)[0] != 0x12)
        return fail("not TDS: the answer starts with " + printable(seen_), Ending::Malformed);
      if (tls_ == nullptr) {
        reader_.feed(*got);
      } else {
        tls_->feed(*got);
        auto plain = tls_->read();
        if (!plain) return fail("TLS: " + plain.error().message, Ending::Malformed);
        reader_.feed(*plain);
      }
    }
    if (!reader_.has_message()) return fail("no complete message", Ending::Malformed);
    return reader_.take();
  }

  [[nodiscard]] std::size_t received() const { return received_; }
  // What arrived of the message still being waited for (its payload so far).
  [[nodiscard]] std::vector<std::uint8_t> pending_payload() const {
    return reader_.pending_payload();
  }

 private:
  ReadFailure fail(std::string what, Ending ending) {
    const bool stalled = ending == Ending::TimedOut && !seen_.empty();
    if (auto hdr = reader_.pending_header(); hdr && stalled)
      what += " (a TDS packet announced " + std::to_string(hdr->length) + " bytes; " +
              std::to_string(reader_.pending_bytes()) + " arrived)";
    return {std::move(what), ending, stalled, received_, hex(seen_)};
  }
  Conn& conn_;
  TlsClient* tls_ = nullptr;
  tds::MessageReader reader_;
  std::vector<std::uint8_t> seen_;
  std::size_t received_ = 0;
};

void record_failure(Result& r, Stage stage, const ReadFailure& f) {
  r.failed_at = stage;
  r.failure = f.what;
  r.stalled = f.stalled;
  r.timed_out = f.ending == Ending::TimedOut;
  r.closed_by_peer = f.ending == Ending::Closed;
  r.bytes_received = f.bytes;
  r.first_bytes_hex = f.first_hex;
}

// A failed TLS stage, with how far the server's side of the handshake got. An empty `why`
// keeps the failure a read already recorded.
bool tls_failed(Result& r, std::string why, const std::vector<std::uint8_t>& from_server) {
  r.failed_at = Stage::Tls;
  if (!why.empty()) r.failure = std::move(why);
  r.server_handshake = tls::handshake_progress(from_server);
  return false;
}

// TLS handshake whose records travel inside TDS PRELOGIN packets (TDS 7.x).
bool handshake_in_tds(Result& r, Conn& conn, Channel& ch, TlsClient& tls) {
  std::vector<std::uint8_t> from_server;  // the TLS bytes the server's PRELOGIN packets carried
  auto failed = [&](std::string why) { return tls_failed(r, std::move(why), from_server); };
  for (int round = 0; round < 32; ++round) {  // a handshake is 2-3 flights
    auto done = tls.handshake_step();
    if (!done) return failed(done.error().message);
    auto out = tls.take_output();
    if (!out.empty()) {
      if (auto s = conn.send_all(tds::frame(tds::PacketType::Prelogin, out)); !s)
        return failed(s.error().message);
    }
    if (*done) return true;
    auto msg = ch.read_message();
    if (auto* f = std::get_if<ReadFailure>(&msg)) {
      record_failure(r, Stage::Tls, *f);
      keep(from_server, ch.pending_payload());
      return failed("");
    }
    const auto& payload = std::get<tds::Message>(msg).payload;
    keep(from_server, payload);
    tls.feed(payload);
  }
  return failed("the TLS handshake did not finish in 32 rounds");
}

// TDS 8 strict: TLS directly on the socket, before any TDS.
bool handshake_raw(Result& r, Conn& conn, TlsClient& tls) {
  std::vector<std::uint8_t> from_server;
  auto failed = [&](std::string why) { return tls_failed(r, std::move(why), from_server); };
  for (int round = 0; round < 32; ++round) {
    auto done = tls.handshake_step();
    if (!done) return failed(done.error().message);
    if (auto out = tls.take_output(); !out.empty())
      if (auto s = conn.send_all(out); !s) return failed(s.error().message);
    if (*done) return true;
    auto got = conn.recv_some();
    if (!got || got->empty()) {
      r.timed_out = !got && got.error().kind == ErrorKind::TimedOut;
      r.closed_by_peer = got ? true : got.error().kind == ErrorKind::Reset;
      r.stalled = r.timed_out && r.bytes_received > 0;
      return failed(
          !got
              ? (r.timed_out ? (r.bytes_received > 0
                                    ? "the server's TLS answer stopped arriving before the deadline"
                                    : "no TLS answer before the deadline")
                             : "connection " + got.error().message)
              : "the server closed the connection during the TLS handshake");
    }
    r.bytes_received += got->size();
    keep(from_server, *got);
    tls.feed(*got);
  }
  return failed("the TLS handshake did not finish in 32 rounds");
}

tds::Prelogin client_prelogin(tds::Encryption encrypt, bool fedauth_required) {
  tds::Prelogin p;
  tds::Version v;
  v.major = 0;
  v.minor = 1;
  p.version = v;
  p.encryption = encrypt;
  p.instance = "";
  p.thread_id = static_cast<std::uint32_t>(getpid());
  p.thread_id_present = true;
  p.mars = false;
  if (fedauth_required) p.fedauth_required = true;
  return p;
}

void decode_login_response(Result& r, const tds::Message& m) {
  auto tokens = tds::parse_tokens(m.payload);
  if (!tokens) {
    r.failed_at = Stage::Login;
    r.failure = "undecodable login response: " + tokens.error().message;
    return;
  }
  // What the answer held, for a login that got neither LOGINACK nor ERROR.
  std::string held;
  auto add = [&](std::size_t n, std::string_view what) {
    if (n > 0) held += (held.empty() ? "" : ", ") + std::to_string(n) + " " + std::string(what);
  };
  add(tokens->login_ack ? 1 : 0, "LOGINACK");
  add(tokens->env_changes.size(), "ENVCHANGE");
  add(tokens->messages.size(), "INFO/ERROR");
  add(tokens->dones.size(), "DONE");
  add(tokens->skipped_tokens.size(), "other token(s)");
  r.login_answer =
      std::to_string(m.payload.size()) + " bytes" + (held.empty() ? ", no token" : ": " + held);
  r.login_ack = tokens->login_ack;
  r.routing = tokens->routing;
  if (const auto* e = tokens->first_error()) r.error = *e;
  r.outcome = r.error       ? LoginOutcome::Error
              : r.routing   ? LoginOutcome::Routing
              : r.login_ack ? LoginOutcome::LoginAck
                            : LoginOutcome::None;
  r.reached = Stage::Complete;
}

}  // namespace

int Result::largest_mss_passed() const {
  int best = 0;
  for (const auto& t : mss_tries)
    if (t.passed) best = std::max(best, t.mss);
  return best;
}

bool tls_stalled_at_server_flight(const Result& r) {
  if (r.failed_at != Stage::Tls || !r.timed_out || !r.server_handshake) return false;
  const auto& p = *r.server_handshake;
  return !p.not_tls && !p.saw(tls::handshake::kServerHelloDone);
}

namespace {

Result run_once(const Options& options);

// The same handshake on a new connection with the segment size clamped: a path that drops
// full-size packets passes it. No LOGIN7: the handshake is what is being tested.
MssTry try_mss(const Options& options, int mss, std::chrono::milliseconds timeout) {
  Options o = options;
  o.credentials.reset();
  o.login = false;
  o.mss_retry = false;
  o.mss = mss;
  o.timeout = timeout;
  const Result r = run_once(o);
  MssTry t;
  t.mss = mss;
  t.elapsed_ms = r.elapsed_ms;
  t.passed = r.failed_at == Stage::Complete && r.reached == Stage::Tls && r.tls_used;
  if (!t.passed)
    t.failure = r.failure.empty()
                    ? "stopped at stage " + std::string(to_string(r.reached))
                    : "stage " + std::string(to_string(r.failed_at)) + ": " + r.failure;
  return t;
}

}  // namespace

Result run_tds_probe(const Options& options) {
  Result r = run_once(options);
  if (!options.mss_retry || !tls_stalled_at_server_flight(r)) return r;
  // Two tries at most, each within half a timeout: a clamped handshake that passes takes a few
  // round trips, so the confirmation costs one more timeout at worst.
  const auto each = std::max(options.timeout / 2, std::chrono::milliseconds(1));
  const auto t0 = Clock::now();
  r.mss_tries.push_back(try_mss(options, kMssFirst, each));
  r.mss_tries.push_back(
      try_mss(options, r.mss_tries.front().passed ? kMssLarger : kMssSmallest, each));
  r.elapsed_ms += std::chrono::duration<double, std::milli>(Clock::now() - t0).count();
  return r;
}

namespace {

Result run_once(const Options& options) {
  Result r;
  r.options = options;
  r.options.credentials.reset();
  const auto t0 = Clock::now();
  auto finish = [&]() -> Result {
    r.elapsed_ms = std::chrono::duration<double, std::milli>(Clock::now() - t0).count();
    return r;
  };
  Conn conn(t0 + options.timeout);
  if (auto c = conn.connect(options.address, options.port, options.mss); !c) {
    r.failed_at = Stage::Connect;
    r.failure = c.error().message;
    return finish();
  }
  r.reached = Stage::Connect;
  r.mss = conn.mss();
  Channel ch(conn);

  std::unique_ptr<TlsClient> tls;
  auto make_tls = [&](std::vector<std::string> alpn) {
    auto t = TlsClient::create(
        {options.server_name, options.ca_file, std::move(alpn), options.host_name_in_certificate});
    if (!t) {
      r.failed_at = Stage::Tls;
      r.failure = t.error().message;
      return false;
    }
    tls = std::move(*t);
    return true;
  };

  // Runs the TLS stage and records how long it took (the black-hole rule weighs it).
  auto timed_tls = [&](auto&& stage) {
    const auto start = Clock::now();
    const bool ok = stage();
    r.tls_ms = std::chrono::duration<double, std::milli>(Clock::now() - start).count();
    return ok;
  };

  if (options.strict) {
    if (!timed_tls([&] { return make_tls({"tds/8.0"}) && handshake_raw(r, conn, *tls); }))
      return finish();
    r.tls_used = true;
    r.tls = tls->facts();
    r.negotiated = tds::Negotiated::Full;
    ch.use_tls(tls.get());
  }

  auto pre = tds::build_prelogin(client_prelogin(options.encrypt, options.fedauth_required));
  const auto prelogin_sent = Clock::now();
  if (auto s = ch.send(tds::PacketType::Prelogin, pre); !s) {
    r.failed_at = Stage::Prelogin;
    r.failure = s.error().message;
    return finish();
  }
  auto msg = ch.read_message();
  if (auto* f = std::get_if<ReadFailure>(&msg)) {
    record_failure(r, Stage::Prelogin, *f);
    return finish();
  }
  const auto& answer = std::get<tds::Message>(msg);
  auto parsed = tds::parse_prelogin(answer.payload);
  if (answer.type != static_cast<std::uint8_t>(tds::PacketType::TabularResult) || !parsed) {
    r.failed_at = Stage::Prelogin;
    r.failure = answer.type != 0x04
                    ? "the answer is a TDS packet of type " + std::to_string(answer.type) +
                          ", not a PRELOGIN response (0x04)"
                    : "malformed PRELOGIN response: " + parsed.error().message;
    r.first_bytes_hex = hex(answer.payload);
    return finish();
  }
  r.prelogin = *parsed;
  r.reached = Stage::Prelogin;
  r.prelogin_rtt_ms =
      std::chrono::duration<double, std::milli>(Clock::now() - prelogin_sent).count();

  const auto server_enc = parsed->encryption.value_or(tds::Encryption::NotSup);
  if (!options.strict) r.negotiated = tds::negotiate(options.encrypt, server_enc);
  const bool tls_in_tds =
      r.negotiated == tds::Negotiated::Full || r.negotiated == tds::Negotiated::LoginOnly;
  if (!options.strict && tls_in_tds) {
    if (!timed_tls([&] { return make_tls({}) && handshake_in_tds(r, conn, ch, *tls); })) {
      // What a failed handshake learnt is only worth reporting once the server's certificate
      // came: before that OpenSSL's version and verification fields describe nothing.
      if (tls)
        if (auto f = tls->facts(); !f.chain.empty()) r.tls = std::move(f);
      return finish();
    }
    r.tls_used = true;
    r.tls = tls->facts();
    r.login_only_encrypted = r.negotiated == tds::Negotiated::LoginOnly;
    ch.use_tls(tls.get());
  }
  r.reached = Stage::Tls;
  if (!options.login) return finish();
  // A driver that validates sends a real password only over verified TLS 1.2+: so do we.
  if (auto why = withhold_reason(options, *r.negotiated, r.tls)) {
    r.login_withheld = std::move(*why);
    return finish();
  }

  tds::Login7 login;
  login.server_name = options.server_name;
  login.host_name = "mi-diag";
  login.app_name = "mi-diag";
  login.library_name = "mi-diag";
  login.client_pid = static_cast<std::uint32_t>(getpid());
  if (options.read_only_intent) login.type_flags |= tds::kTypeFlagReadOnlyIntent;
  if (options.credentials) {
    login.user_name = options.credentials->user;
    login.password = options.credentials->password;  // wiped below, after building the payload
  } else {
    // Dummy credentials: the server's 18456 answer proves the path without logging anyone in.
    r.dummy_credentials = true;
    login.user_name = "mi-diag-probe";
    login.password = "not-a-password";
  }
  auto payload = tds::build_login7(login);
  wipe(login.password);
  const auto login_start = Clock::now();
  auto login_time = [&] {
    r.login_ms = std::chrono::duration<double, std::milli>(Clock::now() - login_start).count();
  };
  if (auto s = ch.send(tds::PacketType::Login7, payload); !s) {
    r.failed_at = Stage::Login;
    r.failure = s.error().message;
    return finish();
  }
  wipe(payload);
  if (r.login_only_encrypted) ch.use_tls(nullptr);  // ENCRYPT_OFF: the response comes back in clear
  auto resp = ch.read_message();
  login_time();
  if (auto* f = std::get_if<ReadFailure>(&resp)) {
    record_failure(r, Stage::Login, *f);
    return finish();
  }
  decode_login_response(r, std::get<tds::Message>(resp));
  return finish();
}

}  // namespace

}  // namespace midiag::tdsprobe

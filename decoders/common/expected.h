// Errors as values across module boundaries (osquery-style): a result is either a value or an
// Error that says what went wrong in words a user can act on.
#pragma once

#include <cstddef>
#include <string>
#include <utility>
#include <variant>

namespace midiag {

// What kind of failure: callers branch on this, never on the message text.
enum class ErrorKind {
  Other,
  Malformed,   // bytes that do not decode; `offset` says where
  TimedOut,    // the deadline passed
  Closed,      // the peer closed (FIN)
  Reset,       // the peer reset (RST)
  Resource,    // no sockets, memory or file descriptors left
  Io,          // a local system call or file failed
  Usage,       // bad input from the user (exit 2)
  Permission,  // the process may not do it (e.g. capture without CAP_NET_RAW)
};

struct Error {
  std::string message;
  ErrorKind kind = ErrorKind::Other;
  std::size_t offset = 0;  // for Malformed: where in the input it went wrong
};

template <typename T>
class Expected {
 public:
  Expected(T value) : v_(std::move(value)) {}      // NOLINT(google-explicit-constructor)
  Expected(Error error) : v_(std::move(error)) {}  // NOLINT(google-explicit-constructor)

  [[nodiscard]] bool ok() const { return v_.index() == 0; }
  explicit operator bool() const { return ok(); }
  T& value() & { return std::get<0>(v_); }
  const T& value() const& { return std::get<0>(v_); }
  T&& value() && { return std::get<0>(std::move(v_)); }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }
  [[nodiscard]] const Error& error() const { return std::get<1>(v_); }

 private:
  std::variant<T, Error> v_;
};

inline Error make_error(std::string message, ErrorKind kind = ErrorKind::Other,
                        std::size_t offset = 0) {
  return Error{std::move(message), kind, offset};
}

}  // namespace midiag

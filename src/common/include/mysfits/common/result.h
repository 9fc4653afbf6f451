// mysfits::result<T>: the value-or-error type every library returns (STYLE.md §2).
// It is boost::system::result with a small error carrying a category and a readable message,
// so callers can branch on the kind and users see what went wrong.
#pragma once

#include <boost/system/result.hpp>
#include <stdexcept>
#include <string>
#include <utility>

namespace mysfits {

// What kind of failure, coarse enough to branch on.
enum class errc {
  invalid_argument,  // the caller's input is wrong
  not_found,
  already_exists,
  io,           // disk, socket, process
  unavailable,  // a peer or dependency did not answer
  timeout,
  corruption,  // stored data is not what we wrote
  internal,
};

struct error {
  errc code = errc::internal;
  std::string message;

  static error invalid_argument(std::string m) { return {errc::invalid_argument, std::move(m)}; }
  static error not_found(std::string m) { return {errc::not_found, std::move(m)}; }
  static error already_exists(std::string m) { return {errc::already_exists, std::move(m)}; }
  static error io(std::string m) { return {errc::io, std::move(m)}; }
  static error unavailable(std::string m) { return {errc::unavailable, std::move(m)}; }
  static error timeout(std::string m) { return {errc::timeout, std::move(m)}; }
  static error corruption(std::string m) { return {errc::corruption, std::move(m)}; }
  static error internal(std::string m) { return {errc::internal, std::move(m)}; }
};

// Thrown by result<T>::value() on an error; exceptions only where an operation ends.
class error_exception : public std::runtime_error {
 public:
  explicit error_exception(error e) : std::runtime_error(e.message), error_(std::move(e)) {}
  const error& err() const noexcept { return error_; }

 private:
  error error_;
};

[[noreturn]] inline void throw_exception_from_error(const error& e, const boost::source_location&) {
  throw error_exception(e);
}

template <class T>
using result = boost::system::result<T, error>;

// A successful result<void>.
inline result<void> ok() { return {}; }

}  // namespace mysfits

// HTTP's token characters (RFC 9110 §5.6.2: method names, field names, connection options), for
// the hand-written request readers of the HTTP server and the edge.
#pragma once

#include <array>
#include <string_view>

namespace mysfits::http {

inline bool is_tchar(char c) {
  static constexpr auto table = [] {
    std::array<bool, 256> t{};
    for (unsigned char c = '0'; c <= '9'; ++c) t[c] = true;
    for (unsigned char c = 'a'; c <= 'z'; ++c) t[c] = true;
    for (unsigned char c = 'A'; c <= 'Z'; ++c) t[c] = true;
    for (unsigned char c : std::string_view("!#$%&'*+-.^_`|~")) t[c] = true;
    return t;
  }();
  return table[static_cast<unsigned char>(c)];
}

}  // namespace mysfits::http

// What the HTTP-aware session (downstream_session.cc) and its streamed bodies
// (streamed_body.cc) share: feeding a connection's read buffer to a parser, the end of a
// message at the peer's close, read sizes and limits, and the marked responses of an edge
// (X-Edge-Error). Inline: the small requests' path must not pay a call for them.
#pragma once

#include <boost/beast/core/error.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http/error.hpp>
#include <cstddef>
#include <cstdint>
#include <string_view>

namespace mysfits::edge {

enum class parse_state { done, need_more, failed };

// Feeds what `buf` holds to `p`: `done` once the message (or, with `header_only`, its header)
// is complete, `need_more` when more bytes must be read first, `failed` with `ec` set — the
// steps of beast::http::async_read / async_read_header, with the same errors.
// Always inlined: the small requests' path must not pay a call for it (the streaming paths call
// it through parse_body_piece instead).
template <class Parser>
[[gnu::always_inline]] inline parse_state parse_buffered(Parser& p, boost::beast::flat_buffer& buf,
                                                         bool header_only,
                                                         boost::beast::error_code& ec) {
  if (!p.got_some() && buf.size() > 0) {
    // A whole simple message already at hand takes the fast path (http_codec.h).
    const auto data = buf.data();
    if (auto n = p.parse_whole(static_cast<const char*>(data.data()), data.size())) {
      buf.consume(n);
      return parse_state::done;
    }
  }
  while (buf.size() > 0) {
    const auto used = p.put(buf.data(), ec);
    buf.consume(used);
    if (ec == boost::beast::http::error::need_more) {
      ec = {};
      return parse_state::need_more;
    }
    if (ec) return parse_state::failed;
    if (p.is_done() || (header_only && p.is_header_done())) return parse_state::done;
    if (used == 0) break;
  }
  return parse_state::need_more;
}

// parse_buffered for the body of a streamed message, out of the small requests' way.
template <class Parser>
[[gnu::noinline]] inline parse_state parse_body_piece(Parser& p, boost::beast::flat_buffer& buf,
                                                      boost::beast::error_code& ec) {
  return parse_buffered(p, buf, false, ec);
}

// The peer closed: the message ends here if it may (a body read until EOF), else the error
// beast::http::async_read gives.
template <class Parser>
inline boost::beast::error_code at_eof(Parser& p) {
  if (!p.got_some()) return boost::beast::http::error::end_of_stream;
  boost::beast::error_code ec;
  p.put_eof(ec);
  return ec;
}

inline constexpr std::size_t read_chunk = 65536;
inline constexpr std::uint32_t response_header_limit = 64 * 1024;

// Beast bounds a message's header (header_limit) and its body (body_limit), but not a chunk's
// header line (its extensions) or the trailer section: a peer could make the read buffer grow
// without end. Once the header is in, what the buffer holds unparsed while more is needed is
// one incomplete line or trailer section; past `limit` bytes, it is refused.
template <class Parser>
inline bool chunk_line_over_limit(const Parser& p, const boost::beast::flat_buffer& buf,
                                  std::size_t limit) {
  return buf.size() > limit && p.is_header_done();
}

// The field an edge adds to its own 503 when it had no target to send a request to: whoever is
// in front of it (the accelerator in front of a region's load balancer) knows that no
// application saw the request, so it may go to another endpoint whatever its method.
inline constexpr std::string_view unrouted_field = "X-Edge-Error: no-healthy-target\r\n";

[[gnu::always_inline]] inline bool is_unrouted_response(unsigned status, std::string_view head) {
  if (status != 503) return false;
  const auto at = head.find(unrouted_field);
  return at != std::string_view::npos && at >= 2 && head.substr(at - 2, 2) == "\r\n";
}

// The field on a 504 that refused a request because its deadline had passed (an edge's own, or
// an app service's): nothing was applied, so the request may go to another endpoint.
inline constexpr std::string_view expired_field = "X-Edge-Error: deadline-expired\r\n";

[[gnu::always_inline]] inline bool is_expired_response(unsigned status, std::string_view head) {
  if (status != 504) return false;
  const auto at = head.find(expired_field);
  return at != std::string_view::npos && at >= 2 && head.substr(at - 2, 2) == "\r\n";
}

}  // namespace mysfits::edge

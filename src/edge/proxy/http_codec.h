// Streaming HTTP/1.1 parsers for the HTTP-aware proxy path. Both derive from Beast's
// basic_parser, so they accept and reject what beast::http::parser does (same grammar, header
// and body limits, error codes) — and refuse, on top of that, what a proxy must not pass on:
// a Transfer-Encoding other than chunked (or any in HTTP/1.0) and a second Host in requests,
// a transfer coding other than chunked in responses. Instead of building a message — one
// allocation per field — and rewriting it afterwards, they write the message to forward while
// they parse, into strings the connection owns and reuses for every request:
//  - upstream_request_parser: a client's request → the request for the upstream: HTTP/1.1
//    keep-alive, X-Forwarded-For / -Proto / -Port, hop-by-hop headers (and those Connection
//    names), Expect and X-Edge-Deadline removed (the session writes the deadline again per
//    attempt), the body de-chunked (trailer fields dropped) and Content-Length recomputed;
//  - downstream_response_parser: an upstream's response → the response for the client: the
//    client's HTTP version, hop-by-hop headers (and those Connection names) removed,
//    Connection as the client's keep-alive needs, the body de-chunked (trailer fields dropped)
//    and Content-Length recomputed (kept as sent for HEAD and 304). A 1xx is a whole message
//    to it: the session skips interim responses.
// A body larger than the session's stream threshold is not kept whole: the session finishes the
// head early (finish_streamed: the length as received, or chunked) and takes the body out of
// `body` piece by piece as the parser appends to it.
//
// Fast path: parse_whole() takes a whole message of the common, simple shape that is already
// in the buffer (start line, fields of plain ASCII, at most one Content-Length, no
// Transfer-Encoding or Upgrade, the whole body present) in one pass and feeds the same
// callbacks Beast would, so the output is the same; anything else (or a message not fully
// received yet) returns 0 and goes through Beast's parser byte for byte. The fast path accepts
// only what Beast accepts, and means the same by it (the fuzz target checks both on every
// input). It is off until set_limits() is called.
#pragma once

#include <boost/beast/http/basic_parser.hpp>
#include <boost/beast/http/verb.hpp>
#include <cstdint>
#include <string>
#include <string_view>

namespace mysfits::edge {

class upstream_request_parser : public boost::beast::http::basic_parser<true> {
 public:
  // Clears `head` and `body` and writes into them: `head` gets the request line and the kept
  // fields as they are parsed; finish() completes it.
  upstream_request_parser(std::string& head, std::string& body);

  // After the whole request is parsed: appends X-Forwarded-For (the client's value, if any,
  // then `client_ip`), X-Forwarded-Proto: http, X-Forwarded-Port, Content-Length and the
  // blank line. `head` + `body` is then the request to send upstream.
  void finish(std::string_view client_ip, std::uint16_t listener_port);
  // As finish(), once the header is parsed, for a body the caller streams after the head (one
  // larger than its stream threshold): the body framed as received — the client's
  // Content-Length, or Transfer-Encoding: chunked (the caller re-chunks what it forwards).
  void finish_streamed(std::string_view client_ip, std::uint16_t listener_port);

  // Header and body limits (body_limit 0: none), for Beast's parser and the fast path (which it
  // enables). A body announced with a Content-Length up to `reserve_limit` gets its room
  // reserved at once (a larger one is streamed by the caller, a piece at a time).
  void set_limits(std::uint32_t header_limit, std::uint64_t body_limit,
                  std::uint64_t reserve_limit = UINT64_MAX);
  // The fast path: the bytes a whole simple message took from `data`, or 0 (nothing consumed:
  // feed the bytes to put() instead). Only on a parser that has not been fed yet.
  std::size_t parse_whole(const char* data, std::size_t size);

  // As basic_parser's, also after the fast path.
  bool is_done() const { return fast_done_ || basic_parser::is_done(); }
  bool is_header_done() const { return fast_done_ || basic_parser::is_header_done(); }
  bool got_some() const { return fast_done_ || basic_parser::got_some(); }
  bool keep_alive() const { return fast_done_ ? fast_keep_alive_ : basic_parser::keep_alive(); }

  boost::beast::http::verb method() const { return method_; }
  unsigned version() const { return version_; }
  // The request-target as received (valid until `head` changes).
  std::string_view target() const {
    return std::string_view(*head_).substr(target_pos_, target_len_);
  }
  bool has_idempotency_key() const { return idempotency_key_; }
  // A Host field was received (an HTTP/1.1 request without one is refused: RFC 9112 §3.2).
  bool has_host() const { return host_seen_; }
  // The earliest valid X-Edge-Deadline received (Unix epoch ms; the field is not copied to the
  // upstream request), or 0 when none; whether any value was malformed (not 1–16 digits).
  std::int64_t deadline_ms() const { return deadline_ms_; }
  bool deadline_malformed() const { return deadline_malformed_; }
  bool expects_continue() const { return expect_continue_; }
  // The request was refused for a Transfer-Encoding that ends in chunked but has other codings
  // too (gzip, chunked): the proxy cannot undo them (501 rather than 400).
  bool unsupported_coding() const { return unsupported_coding_; }

 private:
  void on_request_impl(boost::beast::http::verb method, boost::beast::string_view method_str,
                       boost::beast::string_view target, int version,
                       boost::beast::error_code& ec) override;
  void on_response_impl(int, boost::beast::string_view, int, boost::beast::error_code&) override {}
  void on_field_impl(boost::beast::http::field name, boost::beast::string_view name_string,
                     boost::beast::string_view value, boost::beast::error_code& ec) override;
  void on_header_impl(boost::beast::error_code&) override {}
  void on_body_init_impl(boost::optional<std::uint64_t> const& length,
                         boost::beast::error_code& ec) override;
  std::size_t on_body_impl(boost::beast::string_view s, boost::beast::error_code& ec) override;
  void on_chunk_header_impl(std::uint64_t, boost::beast::string_view,
                            boost::beast::error_code&) override {}
  std::size_t on_chunk_body_impl(std::uint64_t, boost::beast::string_view s,
                                 boost::beast::error_code& ec) override;
  void on_finish_impl(boost::beast::error_code&) override {}

  std::string* head_;
  std::string* body_;
  boost::beast::http::verb method_ = boost::beast::http::verb::unknown;
  unsigned version_ = 11;
  std::size_t target_pos_ = 0;
  std::size_t target_len_ = 0;
  bool idempotency_key_ = false;
  bool expect_seen_ = false;
  bool expect_continue_ = false;
  bool content_length_seen_ = false;
  bool xff_seen_ = false;
  bool deadline_malformed_ = false;
  bool host_seen_ = false;
  bool unsupported_coding_ = false;
  std::int64_t deadline_ms_ = 0;
  std::string xff_;                      // the X-Forwarded-For values received, joined
  std::string connection_listed_;        // fields the Connection field names (removed)
  std::uint32_t fast_header_limit_ = 0;  // 0: fast path off
  std::uint64_t fast_body_limit_ = 0;
  std::uint64_t reserve_limit_ = UINT64_MAX;
  bool fast_done_ = false;
  bool fast_keep_alive_ = false;
  void append_forwarded_fields(std::string_view client_ip, std::uint16_t listener_port);
};

class downstream_response_parser : public boost::beast::http::basic_parser<false> {
 public:
  // Clears `head` and `body`; the response is written for a client speaking HTTP/1.`minor`
  // (`client_version` 10 or 11) that sent a HEAD request if `head_request` (then the body is
  // skipped and Content-Length passed on as the upstream sent it).
  downstream_response_parser(std::string& head, std::string& body, unsigned client_version,
                             bool head_request);

  // After the whole response is parsed: appends Content-Length, Connection (close for an
  // HTTP/1.1 client that is not kept alive, keep-alive for an HTTP/1.0 one that is) and the
  // blank line. `head` + `body` is then the response to send to the client.
  void finish(bool client_keep_alive);
  // As finish(), once the header is parsed, for a body the caller streams after the head: the
  // upstream's Content-Length if it sent one; otherwise (chunked, or ended by closing)
  // Transfer-Encoding: chunked for an HTTP/1.1 client (the caller re-chunks the body) and no
  // length for an HTTP/1.0 one (the caller closes the connection after the body, and passes
  // client_keep_alive false).
  void finish_streamed(bool client_keep_alive);

  // As upstream_request_parser's.
  void set_limits(std::uint32_t header_limit, std::uint64_t body_limit,
                  std::uint64_t reserve_limit = UINT64_MAX);
  std::size_t parse_whole(const char* data, std::size_t size);
  bool is_done() const { return fast_done_ || basic_parser::is_done(); }
  bool is_header_done() const { return fast_done_ || basic_parser::is_header_done(); }
  bool got_some() const { return fast_done_ || basic_parser::got_some(); }
  // Whether the upstream connection may carry another request.
  bool keep_alive() const { return fast_done_ ? fast_keep_alive_ : basic_parser::keep_alive(); }

  unsigned status() const { return status_; }

 private:
  void on_request_impl(boost::beast::http::verb, boost::beast::string_view,
                       boost::beast::string_view, int, boost::beast::error_code&) override {}
  void on_response_impl(int code, boost::beast::string_view reason, int version,
                        boost::beast::error_code& ec) override;
  void on_field_impl(boost::beast::http::field name, boost::beast::string_view name_string,
                     boost::beast::string_view value, boost::beast::error_code& ec) override;
  void on_header_impl(boost::beast::error_code&) override {}
  void on_body_init_impl(boost::optional<std::uint64_t> const& length,
                         boost::beast::error_code& ec) override;
  std::size_t on_body_impl(boost::beast::string_view s, boost::beast::error_code& ec) override;
  void on_chunk_header_impl(std::uint64_t, boost::beast::string_view,
                            boost::beast::error_code&) override {}
  std::size_t on_chunk_body_impl(std::uint64_t, boost::beast::string_view s,
                                 boost::beast::error_code& ec) override;
  void on_finish_impl(boost::beast::error_code&) override {}

  std::string* head_;
  std::string* body_;
  unsigned client_version_;
  bool head_request_;
  unsigned status_ = 0;
  std::string connection_listed_;        // fields the Connection field names (removed)
  std::uint32_t fast_header_limit_ = 0;  // 0: fast path off
  std::uint64_t fast_body_limit_ = 0;
  std::uint64_t reserve_limit_ = UINT64_MAX;
  bool fast_done_ = false;
  bool fast_keep_alive_ = false;
  void append_connection(bool client_keep_alive);
};

// Writes a complete response of the edge's own (an error: text/plain body "<status> <reason>:
// <message>\n", Server: mysfits-edge) for an HTTP/1.`client_version` client.
void write_error_response(std::string& head, std::string& body, unsigned status,
                          std::string_view message, unsigned client_version, bool keep_alive);

// The path a request-target is routed on: origin-form up to the query (inline: every request),
// or, by absolute_form_path, the path of an absolute-form target ("http://host/a/b?q" → "/a/b";
// "/" when it has none; any other target as origin-form).
std::string_view absolute_form_path(std::string_view target);
inline std::string_view routing_path(std::string_view target) {
  if (target.empty() || target.front() != '/') return absolute_form_path(target);
  const auto q = target.find_first_of("?#");
  return q == std::string_view::npos ? target : target.substr(0, q);
}

// Whether a failed request may be sent again to another target: idempotent methods always,
// others only with an Idempotency-Key header.
bool is_retryable_request(boost::beast::http::verb method, bool has_idempotency_key);

}  // namespace mysfits::edge

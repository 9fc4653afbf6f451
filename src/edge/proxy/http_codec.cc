// The streaming request and response rewriters of the HTTP-aware path.
#include "proxy/http_codec.h"

#include <boost/beast/core/string.hpp>
#include <boost/beast/http/status.hpp>
#include <charconv>

namespace mysfits::edge {

namespace beast = boost::beast;
namespace bhttp = beast::http;

namespace {

// Connection-specific fields that never cross the proxy (RFC 9110 §7.6.1; the fields named in
// Connection too, but the fixed set is what clients send). Transfer-Encoding goes because the
// body is forwarded de-chunked with a Content-Length.
bool is_hop_by_hop(bhttp::field f) {
  switch (f) {
    case bhttp::field::connection:
    case bhttp::field::keep_alive:
    case bhttp::field::proxy_connection:
    case bhttp::field::te:
    case bhttp::field::trailer:
    case bhttp::field::upgrade:
    case bhttp::field::transfer_encoding:
      return true;
    default:
      return false;
  }
}

void append_field(std::string& out, std::string_view name, std::string_view value) {
  out.append(name);
  out.append(": ", 2);
  out.append(value);
  out.append("\r\n", 2);
}

void append_number(std::string& out, std::uint64_t n) {
  char buf[24];
  auto r = std::to_chars(buf, buf + sizeof buf, n);
  out.append(buf, static_cast<std::size_t>(r.ptr - buf));
}

std::string_view sv(beast::string_view s) { return {s.data(), s.size()}; }

}  // namespace

bool is_retryable_request(bhttp::verb method, bool has_idempotency_key) {
  switch (method) {
    case bhttp::verb::get:
    case bhttp::verb::head:
    case bhttp::verb::options:
    case bhttp::verb::trace:
    case bhttp::verb::put:
    case bhttp::verb::delete_:
      return true;
    default:
      return has_idempotency_key;
  }
}

// upstream_request_parser ------------------------------------------------------------------------

upstream_request_parser::upstream_request_parser(std::string& head, std::string& body)
    : head_(&head), body_(&body) {
  head.clear();
  body.clear();
}

void upstream_request_parser::on_request_impl(bhttp::verb method, beast::string_view method_str,
                                              beast::string_view target, int version,
                                              beast::error_code&) {
  method_ = method;
  version_ = static_cast<unsigned>(version);
  head_->append(method_str.data(), method_str.size());
  head_->push_back(' ');
  target_pos_ = head_->size();
  target_len_ = target.size();
  head_->append(target.data(), target.size());
  head_->append(" HTTP/1.1\r\n", 11);
}

void upstream_request_parser::on_field_impl(bhttp::field name, beast::string_view name_string,
                                            beast::string_view value, beast::error_code&) {
  if (is_hop_by_hop(name)) return;
  switch (name) {
    case bhttp::field::expect:
      // The proxy answers 100-continue itself; the upstream gets the whole request.
      if (!expect_seen_) expect_continue_ = beast::iequals(value, "100-continue");
      expect_seen_ = true;
      return;
    case bhttp::field::content_length:
      content_length_seen_ = true;  // recomputed in finish()
      return;
    case bhttp::field::unknown:
      if (beast::iequals(name_string, "X-Forwarded-For")) {
        if (!xff_seen_) xff_.assign(value.data(), value.size());
        xff_seen_ = true;
        return;
      }
      if (beast::iequals(name_string, "X-Forwarded-Proto") ||
          beast::iequals(name_string, "X-Forwarded-Port")) {
        return;  // replaced in finish()
      }
      if (beast::iequals(name_string, "Idempotency-Key")) idempotency_key_ = true;
      break;
    default:
      break;
  }
  append_field(*head_, sv(name_string), sv(value));
}

void upstream_request_parser::on_body_init_impl(boost::optional<std::uint64_t> const& length,
                                                beast::error_code&) {
  // basic_parser has already checked the length against body_limit.
  if (length) body_->reserve(static_cast<std::size_t>(*length));
}

std::size_t upstream_request_parser::on_body_impl(beast::string_view s, beast::error_code&) {
  body_->append(s.data(), s.size());
  return s.size();
}

std::size_t upstream_request_parser::on_chunk_body_impl(std::uint64_t, beast::string_view s,
                                                        beast::error_code&) {
  body_->append(s.data(), s.size());
  return s.size();
}

void upstream_request_parser::finish(std::string_view client_ip, std::uint16_t listener_port) {
  auto& h = *head_;
  h.append("X-Forwarded-For: ", 17);
  if (!xff_.empty()) {
    h.append(xff_);
    h.append(", ", 2);
  }
  h.append(client_ip);
  h.append("\r\nX-Forwarded-Proto: http\r\nX-Forwarded-Port: ", 45);
  append_number(h, listener_port);
  h.append("\r\n", 2);
  // As beast's prepare_payload: a length for a body, and for the methods that carry one even
  // when empty; otherwise no framing field (an empty Content-Length the client sent stays).
  if (!body_->empty() || method_ == bhttp::verb::options || method_ == bhttp::verb::put ||
      method_ == bhttp::verb::post || content_length_seen_) {
    h.append("Content-Length: ", 16);
    append_number(h, body_->size());
    h.append("\r\n", 2);
  }
  h.append("\r\n", 2);
}

// downstream_response_parser ---------------------------------------------------------------------

downstream_response_parser::downstream_response_parser(std::string& head, std::string& body,
                                                       unsigned client_version, bool head_request)
    : head_(&head), body_(&body), client_version_(client_version), head_request_(head_request) {
  head.clear();
  body.clear();
  skip(head_request);
}

void downstream_response_parser::on_response_impl(int code, beast::string_view reason, int,
                                                  beast::error_code&) {
  status_ = static_cast<unsigned>(code);
  auto& h = *head_;
  h.append(client_version_ < 11 ? "HTTP/1.0 " : "HTTP/1.1 ", 9);
  append_number(h, status_);
  h.push_back(' ');
  if (reason.empty()) reason = bhttp::obsolete_reason(static_cast<bhttp::status>(code));
  h.append(reason.data(), reason.size());
  h.append("\r\n", 2);
}

void downstream_response_parser::on_field_impl(bhttp::field name, beast::string_view name_string,
                                               beast::string_view value, beast::error_code&) {
  if (is_hop_by_hop(name)) return;
  // A HEAD response's and a 304's Content-Length describe the body not sent: passed on as is.
  if (name == bhttp::field::content_length && !head_request_ && status_ != 304) return;
  append_field(*head_, sv(name_string), sv(value));
}

void downstream_response_parser::on_body_init_impl(boost::optional<std::uint64_t> const& length,
                                                   beast::error_code&) {
  if (length) body_->reserve(static_cast<std::size_t>(*length));
}

std::size_t downstream_response_parser::on_body_impl(beast::string_view s, beast::error_code&) {
  body_->append(s.data(), s.size());
  return s.size();
}

std::size_t downstream_response_parser::on_chunk_body_impl(std::uint64_t, beast::string_view s,
                                                           beast::error_code&) {
  body_->append(s.data(), s.size());
  return s.size();
}

void downstream_response_parser::finish(bool client_keep_alive) {
  auto& h = *head_;
  const bool bodiless_status = status_ / 100 == 1 || status_ == 204 || status_ == 304;
  if (!head_request_ && !bodiless_status) {
    h.append("Content-Length: ", 16);
    append_number(h, body_->size());
    h.append("\r\n", 2);
  }
  if (client_version_ >= 11 && !client_keep_alive) h.append("Connection: close\r\n", 19);
  if (client_version_ < 11 && client_keep_alive) h.append("Connection: keep-alive\r\n", 24);
  h.append("\r\n", 2);
}

// error responses --------------------------------------------------------------------------------

void write_error_response(std::string& head, std::string& body, unsigned status,
                          std::string_view message, unsigned client_version, bool keep_alive) {
  const auto reason = bhttp::obsolete_reason(static_cast<bhttp::status>(status));
  body.clear();
  append_number(body, status);
  body.push_back(' ');
  body.append(reason.data(), reason.size());
  body.append(": ", 2);
  body.append(message);
  body.push_back('\n');
  head.clear();
  head.append(client_version < 11 ? "HTTP/1.0 " : "HTTP/1.1 ", 9);
  append_number(head, status);
  head.push_back(' ');
  head.append(reason.data(), reason.size());
  head.append("\r\nContent-Type: text/plain\r\nServer: mysfits-edge\r\nContent-Length: ");
  append_number(head, body.size());
  head.append("\r\n", 2);
  if (client_version >= 11 && !keep_alive) head.append("Connection: close\r\n", 19);
  if (client_version < 11 && keep_alive) head.append("Connection: keep-alive\r\n", 24);
  head.append("\r\n", 2);
}

}  // namespace mysfits::edge

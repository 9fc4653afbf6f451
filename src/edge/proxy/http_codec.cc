// The streaming request and response rewriters of the HTTP-aware path.
#include "proxy/http_codec.h"

#include <boost/beast/core/string.hpp>
#include <boost/beast/http/status.hpp>
#include <charconv>
#include <cstring>

#include "mysfits/common/http_token.h"
#include "mysfits/common/request_deadline.h"

namespace mysfits::edge {

namespace beast = boost::beast;
namespace bhttp = beast::http;
using mysfits::http::is_tchar;

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
  // One size change and plain copies (the string keeps its capacity from earlier messages).
  const std::size_t at = out.size();
  out.resize(at + name.size() + value.size() + 4);
  char* d = out.data() + at;
  std::memcpy(d, name.data(), name.size());
  d += name.size();
  *d++ = ':';
  *d++ = ' ';
  std::memcpy(d, value.data(), value.size());
  d += value.size();
  *d++ = '\r';
  *d = '\n';
}

void append_number(std::string& out, std::uint64_t n) {
  char buf[24];
  auto r = std::to_chars(buf, buf + sizeof buf, n);
  out.append(buf, static_cast<std::size_t>(r.ptr - buf));
}

std::string_view sv(beast::string_view s) { return {s.data(), s.size()}; }

std::string_view trim_ows(std::string_view v) {
  while (!v.empty() && (v.front() == ' ' || v.front() == '\t')) v.remove_prefix(1);
  while (!v.empty() && (v.back() == ' ' || v.back() == '\t')) v.remove_suffix(1);
  return v;
}

// What a Transfer-Encoding value asks of the proxy, which decodes only chunked (and forwards
// the body without any transfer coding).
enum class coding { chunked, unsupported, unframed };

coding classify_transfer_coding(std::string_view v) {
  v = trim_ows(v);
  if (beast::iequals(v, "chunked")) return coding::chunked;
  // A list: chunked last frames the body, but the codings before it (gzip, ...) would reach
  // the other side undone and unannounced.
  const auto comma = v.rfind(',');
  const auto last = trim_ows(comma == std::string_view::npos ? v : v.substr(comma + 1));
  return beast::iequals(last, "chunked") ? coding::unsupported : coding::unframed;
}

// Adds to `listed` (comma-separated) the field names a Connection value lists besides the
// options close, keep-alive and upgrade (whose fields go anyway): connection-specific fields
// that must not be forwarded (RFC 9110 §7.6.1).
void collect_connection_options(std::string_view v, std::string& listed) {
  // The usual values, at the price of a length compare.
  if (beast::iequals(v, "keep-alive") || beast::iequals(v, "close")) return;
  while (!v.empty()) {
    const auto comma = v.find(',');
    const auto item = trim_ows(v.substr(0, comma));
    v = comma == std::string_view::npos ? std::string_view() : v.substr(comma + 1);
    if (item.empty() || beast::iequals(item, "close") || beast::iequals(item, "keep-alive") ||
        beast::iequals(item, "upgrade")) {
      continue;
    }
    if (!listed.empty()) listed.push_back(',');
    listed.append(item);
  }
}

bool is_listed(std::string_view name, std::string_view listed) {
  while (!listed.empty()) {
    const auto comma = listed.find(',');
    if (beast::iequals(name, listed.substr(0, comma))) return true;
    listed = comma == std::string_view::npos ? std::string_view() : listed.substr(comma + 1);
  }
  return false;
}

// Removes from `head` (a start line, then fields each ending in CRLF, not yet the blank line)
// the fields `listed` names — except Host, without which the request would be invalid.
void remove_listed_fields(std::string& head, std::string_view listed) {
  auto pos = head.find("\r\n");
  if (pos == std::string::npos) return;
  pos += 2;
  while (pos < head.size()) {
    auto eol = head.find("\r\n", pos);
    if (eol == std::string::npos) return;
    const std::string_view line(head.data() + pos, eol - pos);
    const auto name = line.substr(0, line.find(':'));
    if (is_listed(name, listed) && !beast::iequals(name, "Host")) {
      head.erase(pos, eol + 2 - pos);
    } else {
      pos = eol + 2;
    }
  }
}

// Fast path -------------------------------------------------------------------------------------
// Strict subsets of RFC 9112's grammar, each also accepted by Beast's parser: anything outside
// them makes the fast path give the message to Beast.

// Visible ASCII, space or tab (no obs-text, no controls).
bool is_plain_text(char c) { return (c >= 0x20 && c <= 0x7e) || c == '\t'; }

// The first byte from p that is not plain text (or end): eight bytes at a time while all of
// them are in 0x20..0x7e, then byte by byte.
const char* skip_plain_text(const char* p, const char* end) {
  constexpr std::uint64_t ones = 0x0101010101010101ULL;
  constexpr std::uint64_t highs = 0x8080808080808080ULL;
  while (end - p >= 8) {
    std::uint64_t x;
    std::memcpy(&x, p, 8);
    // A byte below 0x20, or above 0x7e (0x7f, or with the high bit set), stops the run.
    const std::uint64_t below = (x - ones * 0x20) & ~x;
    const std::uint64_t above = (x + ones * 0x01) | x;
    if ((below | above) & highs) break;
    p += 8;
  }
  while (p < end && is_plain_text(*p)) ++p;
  return p;
}

// The fields the rewriters and the framing care about; any other name is `unknown` (the
// callbacks look at no other enum value).
bhttp::field classify(std::string_view n) {
  auto is = [&](std::string_view known) { return beast::iequals(n, known); };
  switch (n.size()) {
    case 2:
      if (is("TE")) return bhttp::field::te;
      break;
    case 4: {
      // Every request has one: four bytes compared at once, ASCII letters folded to lower case
      // (no other bytes of a token become "host" that way).
      std::uint32_t w;
      std::memcpy(&w, n.data(), 4);
      std::uint32_t host;
      std::memcpy(&host, "host", 4);
      if ((w | 0x20202020U) == host) return bhttp::field::host;
      break;
    }
    case 6:
      if (is("Expect")) return bhttp::field::expect;
      break;
    case 7:
      if (is("Trailer")) return bhttp::field::trailer;
      if (is("Upgrade")) return bhttp::field::upgrade;
      break;
    case 10:
      if (is("Connection")) return bhttp::field::connection;
      if (is("Keep-Alive")) return bhttp::field::keep_alive;
      break;
    case 14:
      if (is("Content-Length")) return bhttp::field::content_length;
      break;
    case 16:
      if (is("Proxy-Connection")) return bhttp::field::proxy_connection;
      break;
    case 17:
      if (is("Transfer-Encoding")) return bhttp::field::transfer_encoding;
      break;
    default:
      break;
  }
  return bhttp::field::unknown;
}

struct fast_head {
  bool has_length = false;
  std::uint64_t length = 0;
  bool close = false;       // Connection: close
  bool keep_alive = false;  // Connection: keep-alive
  bool host = false;        // a Host field was seen
};

// A Connection (or Proxy-Connection) list of close / keep-alive; false for anything else (empty
// elements, an upgrade, connection options naming fields to remove).
bool scan_connection(std::string_view v, fast_head& h) {
  while (!v.empty()) {
    auto comma = v.find(',');
    auto item = v.substr(0, comma);
    v = comma == std::string_view::npos ? std::string_view() : v.substr(comma + 1);
    while (!item.empty() && (item.front() == ' ' || item.front() == '\t')) item.remove_prefix(1);
    while (!item.empty() && (item.back() == ' ' || item.back() == '\t')) item.remove_suffix(1);
    if (item.empty()) return false;
    for (char c : item) {
      if (!is_tchar(c)) return false;
    }
    if (beast::iequals(item, "close")) {
      h.close = true;
    } else if (beast::iequals(item, "keep-alive")) {
      h.keep_alive = true;
    } else {
      return false;  // an upgrade, or a field to remove (Beast's path does that)
    }
  }
  return true;
}

// Parses the fields after a start line up to and including the blank line, calling
// emit(field, name, value) for each. Returns the end of the header, or null to give up.
template <class Emit>
const char* parse_fields_fast(const char* p, const char* end, fast_head& h, Emit&& emit) {
  for (;;) {
    if (end - p < 2) return nullptr;
    if (p[0] == '\r') return p[1] == '\n' ? p + 2 : nullptr;
    const char* name = p;
    while (p < end && is_tchar(*p)) ++p;
    if (p == name || p >= end || *p != ':') return nullptr;
    const std::string_view n(name, static_cast<std::size_t>(p - name));
    ++p;
    while (p < end && (*p == ' ' || *p == '\t')) ++p;
    const char* value = p;
    p = skip_plain_text(p, end);
    // CRLF, and one more byte: a line starting with white space would be an obs-fold.
    if (end - p < 3 || p[0] != '\r' || p[1] != '\n' || p[2] == ' ' || p[2] == '\t') {
      return nullptr;
    }
    const char* value_end = p;
    while (value_end > value && (value_end[-1] == ' ' || value_end[-1] == '\t')) --value_end;
    if (value_end == value) return nullptr;
    p += 2;
    const std::string_view v(value, static_cast<std::size_t>(value_end - value));
    const auto f = classify(n);
    switch (f) {
      case bhttp::field::transfer_encoding:
      case bhttp::field::upgrade:
        return nullptr;
      case bhttp::field::content_length: {
        if (h.has_length || v.size() > 18) return nullptr;
        std::uint64_t len = 0;
        for (char c : v) {
          if (c < '0' || c > '9') return nullptr;
          len = len * 10 + static_cast<std::uint64_t>(c - '0');
        }
        h.has_length = true;
        h.length = len;
        break;
      }
      case bhttp::field::connection:
      case bhttp::field::proxy_connection:
        if (!scan_connection(v, h)) return nullptr;
        // Not emitted: the callbacks drop it (hop-by-hop), and it names no field to remove.
        continue;
      case bhttp::field::host:
        if (h.host) return nullptr;  // a second one: refused on Beast's path
        h.host = true;
        break;
      default:
        break;
    }
    emit(f, n, v);
  }
}

// "HTTP/1.1" or "HTTP/1.0" at p: the version (11 or 10), or 0.
int parse_version_fast(const char* p) {
  if (std::memcmp(p, "HTTP/1.", 7) != 0) return 0;
  if (p[7] == '1') return 11;
  if (p[7] == '0') return 10;
  return 0;
}

bool keeps_alive(int version, const fast_head& h) {
  return version >= 11 ? !h.close : h.keep_alive;
}

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

std::string_view absolute_form_path(std::string_view target) {
  // absolute-form (RFC 9112 §3.2.2): scheme "://" authority, then the path. Routed on that
  // path, so a rule cannot be sidestepped by writing the target in full.
  const auto scheme_end = target.find("://");
  if (scheme_end != std::string_view::npos && target.find_first_of("/?#") == scheme_end + 1) {
    const auto path = target.find_first_of("/?#", scheme_end + 3);
    if (path == std::string_view::npos || target[path] != '/') return "/";
    target.remove_prefix(path);
  }
  const auto q = target.find_first_of("?#");
  return q == std::string_view::npos ? target : target.substr(0, q);
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
                                            beast::string_view value, beast::error_code& ec) {
  // Trailer fields of a chunked body are dropped, not merged into the forwarded header (RFC
  // 9110 §6.5.1; the body goes on de-chunked, without a trailer section).
  if (basic_parser::is_header_done()) return;
  switch (name) {
    case bhttp::field::transfer_encoding:
      // Only chunked is decoded; anything else would reach the upstream with its body framed
      // differently than here (a coding not ending in chunked: no length at all, RFC 9112
      // §6.3) or still coded. Nor in HTTP/1.0, which has no chunked (§6.1).
      if (version_ < 11) {
        ec = bhttp::error::bad_transfer_encoding;
        return;
      }
      switch (classify_transfer_coding(sv(value))) {
        case coding::chunked:
          return;
        case coding::unsupported:
          unsupported_coding_ = true;
          [[fallthrough]];
        case coding::unframed:
          ec = bhttp::error::bad_transfer_encoding;
          return;
      }
      return;
    case bhttp::field::connection:
      collect_connection_options(sv(value), connection_listed_);
      return;
    case bhttp::field::host:
      // More than one Host: which one names the resource is ambiguous (RFC 9112 §3.2: 400).
      if (host_seen_) {
        ec = bhttp::error::bad_value;
        return;
      }
      host_seen_ = true;
      break;
    default:
      break;
  }
  if (is_hop_by_hop(name)) return;
  switch (name) {
    case bhttp::field::expect:
      // The proxy answers 100-continue itself; the upstream gets the whole request. An HTTP/1.0
      // client's expectation is ignored (RFC 9110 §10.1.1): it gets no 100.
      if (!expect_seen_) {
        expect_continue_ = version_ >= 11 && beast::iequals(value, "100-continue");
      }
      expect_seen_ = true;
      return;
    case bhttp::field::content_length:
      content_length_seen_ = true;  // recomputed in finish()
      return;
    case bhttp::field::unknown:
      if (beast::iequals(name_string, "X-Forwarded-For")) {
        // Several lines are one list (RFC 9110 §5.3), kept in order.
        if (xff_seen_) xff_.append(", ", 2);
        xff_.append(value.data(), value.size());
        xff_seen_ = true;
        return;
      }
      if (beast::iequals(name_string, "X-Forwarded-Proto") ||
          beast::iequals(name_string, "X-Forwarded-Port")) {
        return;  // replaced in finish()
      }
      if (beast::iequals(name_string, "Idempotency-Key")) idempotency_key_ = true;
      if (name_string.size() == request_deadline::header.size() &&
          beast::iequals(name_string, request_deadline::header)) {
        // Taken out and written again per attempt (proxy/downstream_session.cc): the earliest
        // of the values received counts, so a later one can never extend it.
        if (auto d = request_deadline::parse(sv(value))) {
          if (deadline_ms_ == 0 || *d < deadline_ms_) deadline_ms_ = *d;
        } else {
          deadline_malformed_ = true;
        }
        return;
      }
      break;
    default:
      break;
  }
  append_field(*head_, sv(name_string), sv(value));
}

void upstream_request_parser::on_body_init_impl(boost::optional<std::uint64_t> const& length,
                                                beast::error_code&) {
  // basic_parser has already checked the length against body_limit.
  if (length && *length <= reserve_limit_) body_->reserve(static_cast<std::size_t>(*length));
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

void upstream_request_parser::set_limits(std::uint32_t header_limit, std::uint64_t body_limit,
                                         std::uint64_t reserve_limit) {
  if (body_limit == 0) body_limit = UINT64_MAX;
  this->header_limit(header_limit);
  this->body_limit(body_limit);
  fast_header_limit_ = header_limit;
  fast_body_limit_ = body_limit;
  reserve_limit_ = reserve_limit;
}

std::size_t upstream_request_parser::parse_whole(const char* data, std::size_t size) {
  if (fast_header_limit_ == 0 || fast_done_ || basic_parser::got_some()) return 0;
  const char* p = data;
  const char* end = data + size;
  // request-line = method SP request-target SP HTTP-version CRLF
  const char* method = p;
  while (p < end && is_tchar(*p)) ++p;
  if (p == method || p >= end || *p != ' ') return 0;
  const std::string_view method_str(method, static_cast<std::size_t>(p - method));
  const char* target = ++p;
  while (p<end&& * p> 0x20 && *p < 0x7f) ++p;
  if (p == target || p >= end || *p != ' ') return 0;
  const std::string_view target_str(target, static_cast<std::size_t>(p - target));
  ++p;
  if (end - p < 10) return 0;
  const int version = parse_version_fast(p);
  if (version == 0 || p[8] != '\r' || p[9] != '\n') return 0;
  p += 10;
  // The callbacks write the output as the fields are parsed; it is undone if the fast path
  // gives up later.
  beast::error_code ec;
  on_request_impl(bhttp::string_to_verb(method_str), method_str, target_str, version, ec);
  fast_head h;
  const char* body = parse_fields_fast(
      p, end, h,
      [&](bhttp::field f, std::string_view n, std::string_view v) { on_field_impl(f, n, v, ec); });
  const auto header_size = static_cast<std::size_t>((body ? body : end) - data);
  if (!body || header_size * 2 > fast_header_limit_ || h.length > fast_body_limit_ ||
      static_cast<std::uint64_t>(end - body) < h.length) {
    // Undo what the callbacks wrote (Beast's own state was never touched).
    head_->clear();
    body_->clear();
    method_ = bhttp::verb::unknown;
    version_ = 11;
    target_pos_ = target_len_ = 0;
    idempotency_key_ = expect_seen_ = expect_continue_ = content_length_seen_ = xff_seen_ = false;
    host_seen_ = unsupported_coding_ = false;
    connection_listed_.clear();
    deadline_malformed_ = false;
    deadline_ms_ = 0;
    xff_.clear();
    return 0;
  }
  if (h.length > 0) body_->assign(body, static_cast<std::size_t>(h.length));
  fast_done_ = true;
  fast_keep_alive_ = keeps_alive(version, h);
  return header_size + static_cast<std::size_t>(h.length);
}

// Inlined into both finishers (finish() is on every request's path).
[[gnu::always_inline]] inline void upstream_request_parser::append_forwarded_fields(
    std::string_view client_ip, std::uint16_t listener_port) {
  auto& h = *head_;
  if (!connection_listed_.empty()) {
    remove_listed_fields(h, connection_listed_);
    if (is_listed("X-Forwarded-For", connection_listed_)) xff_.clear();
  }
  h.append("X-Forwarded-For: ", 17);
  if (!xff_.empty()) {
    h.append(xff_);
    h.append(", ", 2);
  }
  h.append(client_ip);
  h.append("\r\nX-Forwarded-Proto: http\r\nX-Forwarded-Port: ", 45);
  append_number(h, listener_port);
  h.append("\r\n", 2);
}

void upstream_request_parser::finish(std::string_view client_ip, std::uint16_t listener_port) {
  append_forwarded_fields(client_ip, listener_port);
  auto& h = *head_;
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

void upstream_request_parser::finish_streamed(std::string_view client_ip,
                                              std::uint16_t listener_port) {
  append_forwarded_fields(client_ip, listener_port);
  auto& h = *head_;
  if (const auto length = content_length()) {
    h.append("Content-Length: ", 16);
    append_number(h, *length);
    h.append("\r\n", 2);
  } else {
    h.append("Transfer-Encoding: chunked\r\n", 28);
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
                                               beast::string_view value, beast::error_code& ec) {
  if (basic_parser::is_header_done()) return;  // trailer fields: dropped, as for requests
  if (name == bhttp::field::transfer_encoding &&
      classify_transfer_coding(sv(value)) != coding::chunked) {
    // A coding other than chunked (gzip, ...) cannot be passed on: the client would get the
    // coded bytes without the field that says so.
    ec = bhttp::error::bad_transfer_encoding;
    return;
  }
  if (name == bhttp::field::connection) {
    collect_connection_options(sv(value), connection_listed_);
    return;
  }
  if (is_hop_by_hop(name)) return;
  // A HEAD response's and a 304's Content-Length describe the body not sent: passed on as is.
  if (name == bhttp::field::content_length && !head_request_ && status_ != 304) return;
  append_field(*head_, sv(name_string), sv(value));
}

void downstream_response_parser::on_body_init_impl(boost::optional<std::uint64_t> const& length,
                                                   beast::error_code&) {
  if (length && *length <= reserve_limit_) body_->reserve(static_cast<std::size_t>(*length));
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

void downstream_response_parser::set_limits(std::uint32_t header_limit, std::uint64_t body_limit,
                                            std::uint64_t reserve_limit) {
  if (body_limit == 0) body_limit = UINT64_MAX;
  this->header_limit(header_limit);
  this->body_limit(body_limit);
  fast_header_limit_ = header_limit;
  fast_body_limit_ = body_limit;
  reserve_limit_ = reserve_limit;
}

std::size_t downstream_response_parser::parse_whole(const char* data, std::size_t size) {
  // HEAD responses and the statuses without a body follow Beast's own rules.
  if (fast_header_limit_ == 0 || fast_done_ || basic_parser::got_some() || head_request_) {
    return 0;
  }
  const char* p = data;
  const char* end = data + size;
  // status-line = HTTP-version SP status-code SP reason-phrase CRLF
  if (end - p < 13) return 0;
  const int version = parse_version_fast(p);
  if (version == 0 || p[8] != ' ') return 0;
  p += 9;
  if (p[0] < '2' || p[0] > '9' || p[1] < '0' || p[1] > '9' || p[2] < '0' || p[2] > '9' ||
      p[3] != ' ') {
    return 0;
  }
  const int code = (p[0] - '0') * 100 + (p[1] - '0') * 10 + (p[2] - '0');
  if (code == 204 || code == 304) return 0;
  p += 4;
  const char* reason = p;
  p = skip_plain_text(p, end);
  if (p == reason || end - p < 2 || p[0] != '\r' || p[1] != '\n') return 0;
  const std::string_view reason_str(reason, static_cast<std::size_t>(p - reason));
  p += 2;
  beast::error_code ec;
  on_response_impl(code, reason_str, version, ec);
  fast_head h;
  const char* body = parse_fields_fast(
      p, end, h,
      [&](bhttp::field f, std::string_view n, std::string_view v) { on_field_impl(f, n, v, ec); });
  const auto header_size = static_cast<std::size_t>((body ? body : end) - data);
  if (!body || !h.has_length || header_size * 2 > fast_header_limit_ ||
      h.length > fast_body_limit_ || static_cast<std::uint64_t>(end - body) < h.length) {
    head_->clear();  // undo what the callbacks wrote (Beast's state was never touched)
    body_->clear();
    status_ = 0;
    connection_listed_.clear();
    return 0;
  }
  if (h.length > 0) body_->assign(body, static_cast<std::size_t>(h.length));
  fast_done_ = true;
  fast_keep_alive_ = keeps_alive(version, h);
  return header_size + static_cast<std::size_t>(h.length);
}

void downstream_response_parser::finish(bool client_keep_alive) {
  auto& h = *head_;
  if (!connection_listed_.empty()) remove_listed_fields(h, connection_listed_);
  const bool bodiless_status = status_ / 100 == 1 || status_ == 204 || status_ == 304;
  if (!head_request_ && !bodiless_status) {
    h.append("Content-Length: ", 16);
    append_number(h, body_->size());
    h.append("\r\n", 2);
  }
  append_connection(client_keep_alive);
}

void downstream_response_parser::finish_streamed(bool client_keep_alive) {
  auto& h = *head_;
  if (!connection_listed_.empty()) remove_listed_fields(h, connection_listed_);
  if (const auto length = content_length()) {
    h.append("Content-Length: ", 16);
    append_number(h, *length);
    h.append("\r\n", 2);
  } else if (client_version_ >= 11) {
    h.append("Transfer-Encoding: chunked\r\n", 28);
  }
  append_connection(client_keep_alive);
}

[[gnu::always_inline]] inline void downstream_response_parser::append_connection(
    bool client_keep_alive) {
  auto& h = *head_;
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

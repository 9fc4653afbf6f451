// Mysfit conversions and the shipped data. Descriptions are the project's own words.
#include "mysfit.h"

#include <algorithm>
#include <array>
#include <boost/json/basic_parser_impl.hpp>
#include <cctype>
#include <charconv>
#include <cstdint>
#include <cstring>
#include <map>
#include <sstream>

#include "assets.h"

namespace mysfits::app {

namespace json = boost::json;

namespace {

const std::map<std::string, std::string, std::less<>>& descriptions() {
  static const std::map<std::string, std::string, std::less<>> d = {
      {"Chimera",
       "Three heads, one opinion: everything should be organised by her. Files her paperwork "
       "alphabetically and breathes fire on anyone who does not."},
      {"Cyclops",
       "Small, earnest and fond of rules. Sees the world through one very large eye and reports "
       "every jaywalker he spots."},
      {"Dragon",
       "Five centuries old and still cannot sit still. Hoards board games instead of gold and "
       "changes the rules halfway through."},
      {"Gorgon",
       "Means well-ish. Her stare turns visitors into garden statues, which she insists is just "
       "her way of redecorating."},
      {"Haetae",
       "A lion-like guardian of justice who has kept watch for two billion years and would like "
       "a quiet home with a warm rug."},
      {"Yeti",
       "Soft white fur and a cold heart. Builds snowmen on your doorstep, then blames you for "
       "the mess."},
      {"Kraken",
       "Eight arms, no plan. Loves water parks, hates schedules, and is best kept away from "
       "shipping lanes."},
      {"Plesiosaurus",
       "Shy, ancient and camera-averse. Spends most days floating in the bath pretending to be a "
       "rumour."},
      {"Mandrake",
       "A root with a voice. Perfectly calm until pulled from the soil, so please do not pull "
       "him from the soil."},
      {"Pegasus",
       "A winged pony who keeps every promise and sparkles slightly when happy, which is most of "
       "the time."},
      {"Phoenix",
       "Bursts into flame about once a millennium and comes back cheerful. Smoke alarms are "
       "strongly recommended."},
      {"Troll",
       "Lives under bridges, charges tolls nobody agreed to, and tells the worst jokes in the "
       "valley."},
  };
  return d;
}

std::string str_attr(const json::object& item, std::string_view name) {
  if (auto* a = item.if_contains(name); a && a->is_object()) {
    if (auto* s = a->as_object().if_contains("S"); s && s->is_string()) {
      return std::string(s->as_string());
    }
  }
  return {};
}

json::value num_attr(const json::object& item, std::string_view name) {
  if (auto* a = item.if_contains(name); a && a->is_object()) {
    if (auto* n = a->as_object().if_contains("N"); n && n->is_string()) {
      std::string_view text = n->as_string();
      std::int64_t v = 0;
      auto [p, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
      if (ec == std::errc() && p == text.data() + text.size()) return v;
      return json::string(text);  // beyond int64 or fractional: keep the exact text
    }
  }
  return 0;
}

}  // namespace

std::string picture_uri(std::string_view species) {
  std::string s(species);
  std::transform(s.begin(), s.end(), s.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return "/img/" + s + ".svg";
}

result<std::vector<mysfit_seed>> parse_mysfits_tsv(std::string_view text) {
  std::vector<mysfit_seed> out;
  std::istringstream in{std::string(text)};
  std::string line;
  bool header = true;
  while (std::getline(in, line)) {
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (line.empty()) continue;
    if (header) {
      header = false;
      continue;
    }
    std::vector<std::string> f;
    std::istringstream fields(line);
    std::string field;
    while (std::getline(fields, field, '\t')) f.push_back(field);
    if (f.size() != 6) return error::corruption("mysfits.tsv: bad line: " + line);
    mysfit_seed m{f[0], f[1], f[2], f[4], f[5], "", f[3]};
    if (auto it = descriptions().find(m.species); it != descriptions().end()) {
      m.description = it->second;
    } else {
      m.description = "A mysfit looking for a home.";
    }
    out.push_back(std::move(m));
  }
  return out;
}

result<std::vector<mysfit_seed>> shipped_mysfits() {
  auto tsv = assets::find("mysfits.tsv");
  if (!tsv) return error::internal("mysfits.tsv is not embedded");
  return parse_mysfits_tsv(*tsv);
}

json::object to_item(const mysfit_seed& m) {
  auto s = [](std::string_view v) { return json::object{{"S", v}}; };
  std::string pic = picture_uri(m.species);
  return {{"MysfitId", s(m.id)},
          {"Name", s(m.name)},
          {"Species", s(m.species)},
          {"Description", s(m.description)},
          {"Age", json::object{{"N", m.age}}},
          {"GoodEvil", s(m.good_evil)},
          {"LawChaos", s(m.law_chaos)},
          {"ThumbImageUri", s(pic)},
          {"ProfileImageUri", s(pic)},
          {"Likes", json::object{{"N", "0"}}},
          {"Adopted", json::object{{"BOOL", false}}}};
}

json::object to_json(const json::object& item) {
  bool adopted = false;
  if (auto* a = item.if_contains("Adopted"); a && a->is_object()) {
    if (auto* b = a->as_object().if_contains("BOOL"); b && b->is_bool()) adopted = b->as_bool();
  }
  return {{"mysfitId", str_attr(item, "MysfitId")},
          {"name", str_attr(item, "Name")},
          {"species", str_attr(item, "Species")},
          {"description", str_attr(item, "Description")},
          {"age", num_attr(item, "Age")},
          {"goodevil", str_attr(item, "GoodEvil")},
          {"lawchaos", str_attr(item, "LawChaos")},
          {"thumbImageUri", str_attr(item, "ThumbImageUri")},
          {"profileImageUri", str_attr(item, "ProfileImageUri")},
          {"likes", num_attr(item, "Likes")},
          {"adopted", adopted}};
}

namespace {

// A JSON string literal, escaped as Boost.JSON's serializer escapes it (", \\, the short forms
// of control characters, \u00xx for the others; everything else, UTF-8 included, as is).
void append_string(std::string& out, std::string_view s) {
  static constexpr char hex[] = "0123456789abcdef";
  static constexpr auto escaped = [] {
    std::array<bool, 256> t{};
    for (int c = 0; c < 0x20; ++c) t[static_cast<std::size_t>(c)] = true;
    t['"'] = true;
    t['\\'] = true;
    return t;
  }();
  // Eight bytes at a time while none needs an escape (a list answer is ~5 KB of text): the
  // word tests below never miss a byte below 0x20, '"' or '\\' (they may flag a clean word,
  // which is then checked byte by byte).
  auto clean_word = [](const char* p) {
    constexpr std::uint64_t ones = 0x0101010101010101ULL, highs = 0x8080808080808080ULL;
    std::uint64_t x = 0;
    std::memcpy(&x, p, sizeof x);
    std::uint64_t q = x ^ (ones * '"'), b = x ^ (ones * '\\');
    std::uint64_t hit = ((x - ones * 0x20) & ~x) | ((q - ones) & ~q) | ((b - ones) & ~b);
    return (hit & highs) == 0;
  };
  out += '"';
  std::size_t run = 0;  // start of the bytes not yet copied, which need no escape
  std::size_t i = 0;
  while (i < s.size()) {
    if (i + 8 <= s.size() && clean_word(s.data() + i)) {
      i += 8;
      continue;
    }
    auto c = static_cast<unsigned char>(s[i++]);
    if (!escaped[c]) continue;
    out.append(s.data() + run, i - 1 - run);
    run = i;
    switch (c) {
      case '"':
        out += "\\\"";
        break;
      case '\\':
        out += "\\\\";
        break;
      case '\b':
        out += "\\b";
        break;
      case '\f':
        out += "\\f";
        break;
      case '\n':
        out += "\\n";
        break;
      case '\r':
        out += "\\r";
        break;
      case '\t':
        out += "\\t";
        break;
      default:
        out += "\\u00";
        out += hex[c >> 4];
        out += hex[c & 0xf];
    }
  }
  out.append(s.data() + run, s.size() - run);
  out += '"';
}

std::string_view str_view(const json::object& item, std::string_view name) {
  if (auto* a = item.if_contains(name); a && a->is_object()) {
    if (auto* s = a->as_object().if_contains("S"); s && s->is_string()) return s->as_string();
  }
  return {};
}

void append_number(std::string& out, const json::value& n) {
  if (n.is_string())
    append_string(out, n.as_string());
  else
    out += json::serialize(n);
}

}  // namespace

void append_json(std::string& out, const json::object& item) {
  bool adopted = false;
  if (auto* a = item.if_contains("Adopted"); a && a->is_object()) {
    if (auto* b = a->as_object().if_contains("BOOL"); b && b->is_bool()) adopted = b->as_bool();
  }
  auto field = [&](std::string_view key, std::string_view attr, bool first = false) {
    if (!first) out += ',';
    out += '"';
    out += key;
    out += "\":";
    append_string(out, str_view(item, attr));
  };
  out += '{';
  field("mysfitId", "MysfitId", true);
  field("name", "Name");
  field("species", "Species");
  field("description", "Description");
  out += ",\"age\":";
  append_number(out, num_attr(item, "Age"));
  field("goodevil", "GoodEvil");
  field("lawchaos", "LawChaos");
  field("thumbImageUri", "ThumbImageUri");
  field("profileImageUri", "ProfileImageUri");
  out += ",\"likes\":";
  append_number(out, num_attr(item, "Likes"));
  out += ",\"adopted\":";
  out += adopted ? "true" : "false";
  out += '}';
}

std::string mysfit_list_json(const json::array& items) {
  std::string out;
  out.reserve(64 + items.size() * 512);
  out += "{\"mysfits\":[";
  bool first = true;
  for (const auto& it : items) {
    if (!it.is_object()) continue;
    if (!first) out += ',';
    first = false;
    append_json(out, it.as_object());
  }
  out += "]}";
  return out;
}

namespace {

// The attributes append_json reads, in the order it writes them.
enum class field_kind { str, num, flag };
struct field_spec {
  std::string_view attr, key;
  field_kind kind;
};
constexpr std::array<field_spec, 11> fields = {
    {{"MysfitId", "mysfitId", field_kind::str},
     {"Name", "name", field_kind::str},
     {"Species", "species", field_kind::str},
     {"Description", "description", field_kind::str},
     {"Age", "age", field_kind::num},
     {"GoodEvil", "goodevil", field_kind::str},
     {"LawChaos", "lawchaos", field_kind::str},
     {"ThumbImageUri", "thumbImageUri", field_kind::str},
     {"ProfileImageUri", "profileImageUri", field_kind::str},
     {"Likes", "likes", field_kind::num},
     {"Adopted", "adopted", field_kind::flag}}};

// basic_parser handler: depth 1 is the answer object, 2 its "Items" array, 3 an item, 4 an
// attribute value ({"S": …}), deeper levels (maps, lists) are skipped. Strings and keys may
// arrive in parts; they are gathered per field.
class items_transcoder {
 public:
  static constexpr std::size_t max_object_size = std::size_t(-1);
  static constexpr std::size_t max_array_size = std::size_t(-1);
  static constexpr std::size_t max_key_size = std::size_t(-1);
  static constexpr std::size_t max_string_size = std::size_t(-1);

  items_transcoder(std::string& out, bool& first) : out_(out), first_(first) {}

  bool top_is_object = false;
  bool has_last_key = false;

  bool on_document_begin(boost::system::error_code&) { return true; }
  bool on_document_end(boost::system::error_code&) { return true; }
  bool on_array_begin(boost::system::error_code&) {
    if (depth_ == 1 && top_key_ == top::items) in_items_ = true;
    ++depth_;
    return true;
  }
  bool on_array_end(std::size_t, boost::system::error_code&) {
    --depth_;
    if (depth_ == 1) in_items_ = false;
    return true;
  }
  bool on_object_begin(boost::system::error_code&) {
    if (depth_ == 0) top_is_object = true;
    if (depth_ == 2 && in_items_) begin_item();
    if (depth_ == 3 && in_item_) {
      in_attr_ = true;
      type_ = value_type::other;
    }
    ++depth_;
    return true;
  }
  bool on_object_end(std::size_t n, boost::system::error_code&) {
    --depth_;
    if (depth_ == 1 && top_key_ == top::last_key && n > 0) has_last_key = true;
    if (depth_ == 3) in_attr_ = false;
    if (depth_ == 2 && in_item_) end_item();
    return true;
  }
  bool on_key_part(std::string_view s, std::size_t, boost::system::error_code&) {
    key_.append(s);
    return true;
  }
  bool on_key(std::string_view s, std::size_t, boost::system::error_code&) {
    std::string_view key = s;
    if (!key_.empty()) {  // it came in parts
      key_.append(s);
      key = key_;
    }
    if (depth_ == 1) {
      top_key_ = key == "Items"              ? top::items
                 : key == "LastEvaluatedKey" ? top::last_key
                                             : top::other;
    } else if (depth_ == 3 && in_item_) {
      slot_ = slot_of(key);
    } else if (depth_ == 4 && in_attr_) {
      type_ = key == "S"      ? value_type::s
              : key == "N"    ? value_type::n
              : key == "BOOL" ? value_type::flag
                              : value_type::other;
    }
    key_.clear();
    return true;
  }
  bool on_string_part(std::string_view s, std::size_t, boost::system::error_code&) {
    part_.append(s);
    return true;
  }
  bool on_string(std::string_view s, std::size_t, boost::system::error_code&) {
    if (depth_ == 4 && in_attr_ && slot_ >= 0) {
      auto kind = fields[static_cast<std::size_t>(slot_)].kind;
      if ((kind == field_kind::str && type_ == value_type::s) ||
          (kind == field_kind::num && type_ == value_type::n)) {
        auto& v = values_[static_cast<std::size_t>(slot_)];
        if (part_.empty()) {
          v.assign(s.data(), s.size());
        } else {
          v.assign(part_);
          v.append(s);
        }
        set_[static_cast<std::size_t>(slot_)] = true;
      }
    }
    part_.clear();
    return true;
  }
  bool on_number_part(std::string_view, boost::system::error_code&) { return true; }
  bool on_int64(std::int64_t, std::string_view, boost::system::error_code&) { return true; }
  bool on_uint64(std::uint64_t, std::string_view, boost::system::error_code&) { return true; }
  bool on_double(double, std::string_view, boost::system::error_code&) { return true; }
  bool on_bool(bool b, boost::system::error_code&) {
    if (depth_ == 4 && in_attr_ && slot_ >= 0 &&
        fields[static_cast<std::size_t>(slot_)].kind == field_kind::flag &&
        type_ == value_type::flag) {
      adopted_ = b;
    }
    return true;
  }
  bool on_null(boost::system::error_code&) { return true; }
  bool on_comment_part(std::string_view, boost::system::error_code&) { return true; }
  bool on_comment(std::string_view, boost::system::error_code&) { return true; }

 private:
  enum class top { other, items, last_key };
  enum class value_type { other, s, n, flag };

  // The field an attribute name is read into, or -1: by length first (one or a few compares
  // instead of eleven).
  static int slot_of(std::string_view key) {
    auto is = [&key](std::size_t i) { return fields[i].attr == key ? static_cast<int>(i) : -1; };
    switch (key.size()) {
      case 3:
        return is(4);  // Age
      case 4:
        return is(1);  // Name
      case 5:
        return is(9);  // Likes
      case 7:
        return key[0] == 'S' ? is(2) : is(10);  // Species, Adopted
      case 8:                                   // MysfitId, GoodEvil, LawChaos
        return key[0] == 'M' ? is(0) : key[0] == 'G' ? is(5) : is(6);
      case 11:
        return is(3);  // Description
      case 13:
        return is(7);  // ThumbImageUri
      case 15:
        return is(8);  // ProfileImageUri
      default:
        return -1;
    }
  }

  void begin_item() {
    in_item_ = true;
    slot_ = -1;
    set_.fill(false);
    adopted_ = false;
  }
  // Writes the item as append_json does.
  void end_item() {
    in_item_ = false;
    if (!first_) out_ += ',';
    first_ = false;
    out_ += '{';
    for (std::size_t i = 0; i < fields.size(); ++i) {
      if (i > 0) out_ += ',';
      out_ += '"';
      out_ += fields[i].key;
      out_ += "\":";
      switch (fields[i].kind) {
        case field_kind::str:
          append_string(out_, set_[i] ? std::string_view(values_[i]) : std::string_view());
          break;
        case field_kind::num:
          append_number_text(i);
          break;
        case field_kind::flag:
          out_ += adopted_ ? "true" : "false";
          break;
      }
    }
    out_ += '}';
  }
  // num_attr's rules: an int64 written as a number, other text as a string, missing as 0.
  void append_number_text(std::size_t i) {
    if (!set_[i]) {
      out_ += '0';
      return;
    }
    const std::string& text = values_[i];
    std::int64_t v = 0;
    auto [p, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
    if (ec == std::errc() && p == text.data() + text.size()) {
      char buf[24];
      auto [end, ec2] = std::to_chars(buf, buf + sizeof buf, v);
      (void)ec2;
      out_.append(buf, static_cast<std::size_t>(end - buf));
    } else {
      append_string(out_, text);
    }
  }

  std::string& out_;
  bool& first_;
  int depth_ = 0;
  top top_key_ = top::other;
  bool in_items_ = false, in_item_ = false, in_attr_ = false;
  int slot_ = -1;
  std::string key_, part_;
  value_type type_ = value_type::other;
  std::array<std::string, fields.size()> values_;
  std::array<bool, fields.size()> set_{};
  bool adopted_ = false;
};

}  // namespace

items_page append_items_json(std::string& out, std::string_view answer, bool& first) {
  items_page page;
  // The answer's strings are not checked for valid UTF-8 again: DynamoDB (and mysfits-table,
  // which refuses a request that is not valid UTF-8) only ever stores and returns valid UTF-8,
  // and the check was a tenth of a list request's instructions here.
  json::parse_options opts;
  opts.allow_invalid_utf8 = true;
  json::basic_parser<items_transcoder> parser(opts, out, first);
  boost::system::error_code ec;
  std::size_t used = parser.write_some(false, answer.data(), answer.size(), ec);
  // As json::parse: anything after the value (but whitespace) makes it no JSON document.
  if (ec || used != answer.size() || !parser.handler().top_is_object) return page;
  page.ok = true;
  page.has_last_key = parser.handler().has_last_key;
  return page;
}

bool is_valid_mysfit_id(std::string_view id) {
  if (id.empty() || id.size() > 64) return false;
  return std::all_of(id.begin(), id.end(),
                     [](unsigned char c) { return std::isalnum(c) || c == '-' || c == '_'; });
}

json::object key_of(std::string_view id) { return {{"MysfitId", json::object{{"S", id}}}}; }

}  // namespace mysfits::app

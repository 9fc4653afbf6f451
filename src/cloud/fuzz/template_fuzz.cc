// libFuzzer target: arbitrary bytes as a CloudFormation template. Parsing, binding and
// resolving may fail with an error result, never crash or throw.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "mysfits/cloud/template.h"

namespace {
struct echo_resolver : mysfits::cloud::resolver {
  mysfits::result<std::string> ref(std::string_view id) const override { return std::string(id); }
  mysfits::result<boost::json::value> get_att(std::string_view id,
                                              std::string_view) const override {
    return boost::json::value(boost::json::string(id));
  }
};
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  auto doc = mysfits::cloud::parse_template(text);
  if (!doc) return 0;
  auto t = mysfits::cloud::stack_template::bind(*doc, {}, {.stack_name = "fuzz"});
  if (!t) return 0;
  echo_resolver r;
  for (const auto& id : t->creation_order()) {
    auto p = t->resolve_properties(id, r);
    (void)p;  // errors are expected; only crashes matter
  }
  auto outs = t->outputs(r);
  (void)outs;  // same
  return 0;
}

// A resolver for template tests (cloud_test): resources resolve to "<id>-physical", attributes to
// "<id>.<attr>", and the attribute "Missing" to an error.
#pragma once

#include <boost/json/value.hpp>
#include <string>
#include <string_view>

#include "mysfits/cloud/template.h"

namespace mysfits::cloud::test {

struct fake_resolver : resolver {
  result<std::string> ref(std::string_view id) const override {
    return std::string(id) + "-physical";
  }
  result<boost::json::value> get_att(std::string_view id, std::string_view attr) const override {
    if (attr == "Missing") return error::invalid_argument("no attribute Missing");
    return boost::json::value(boost::json::string(std::string(id) + "." + std::string(attr)));
  }
};

}  // namespace mysfits::cloud::test

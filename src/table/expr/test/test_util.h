// Helpers for the expr unit tests: JSON literals and capturing api_error messages.
#pragma once

#include <boost/json/object.hpp>
#include <boost/json/parse.hpp>
#include <functional>
#include <string>
#include <string_view>

#include "api/api_error.h"

namespace mysfits::table::expr::testing {

inline boost::json::object obj(std::string_view text) {
  return boost::json::parse(text).as_object();
}

// "" when `f` does not throw, else the api_error's message.
inline std::string error_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const api_error& e) {
    return e.message();
  }
  return "";
}

}  // namespace mysfits::table::expr::testing

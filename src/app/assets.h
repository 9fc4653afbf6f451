// Files compiled into the binaries at build time (cmake/embed_files.cmake): the web page, its
// pictures and data/mysfits.tsv. Used by the core service (serving) and seeding.
#pragma once

#include <optional>
#include <span>
#include <string_view>

namespace mysfits::app::assets {

struct asset {
  std::string_view name;  // "index.html", "img/dragon.svg", "mysfits.tsv"
  std::string_view bytes;
};

std::span<const asset> all();

// The asset with this name, if any.
inline std::optional<std::string_view> find(std::string_view name) {
  for (const auto& a : all()) {
    if (a.name == name) return a.bytes;
  }
  return std::nullopt;
}

}  // namespace mysfits::app::assets

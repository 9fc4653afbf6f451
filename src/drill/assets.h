// The dashboard page and the chart library (uPlot, from npm), compiled into the binary by
// cmake/embed_files.cmake so the dashboard needs no files and no network at run time.
#pragma once

#include <span>
#include <string_view>

namespace mysfits::drill::assets {

struct asset {
  std::string_view name;  // "dashboard.html", "uPlot.iife.min.js", …
  std::string_view bytes;
};

std::span<const asset> all();

}  // namespace mysfits::drill::assets

// `mysfits drill`: the workshop's lab 5 against a running system (issue 7). Load through the
// accelerator, dial changes checked against what was observed, a broken primary region with
// measured failover, recovery and data loss, then healing and measured convergence.
#pragma once

#include <boost/json/object.hpp>
#include <chrono>
#include <filesystem>
#include <functional>
#include <optional>
#include <string>

#include "mysfits/common/result.h"
#include "mysfits/drill/system.h"

namespace mysfits::drill {

enum class break_kind { none, desired_count, kill, cut };

[[nodiscard]] result<break_kind> parse_break_kind(const std::string& s);

struct drill_options {
  std::filesystem::path system_file;
  // Requests per second through the accelerator, all phases. Default: 100.
  double rate = 100;
  // Fraction of requests that are likes (POST /mysfits/{id}/like); the rest load the list
  // (GET /mysfits). Default: 0.5.
  double like_fraction = 0.5;
  // Client connections (HTTP/1.1 keep-alive), each its own thread. Default: 8.
  int connections = 8;
  // Length of each measured phase (each dial split, and the observation after the break).
  // Default: 5 s.
  std::chrono::milliseconds phase{5000};
  // Wait after each dial change before measuring (requests already in flight). Default: 500 ms.
  std::chrono::milliseconds settle{500};
  // How to break the primary. Default: kill.
  break_kind how = break_kind::kill;
  // Send an Idempotency-Key with every like, so the accelerator's HTTP mode may retry it on
  // another region when the connection fails before an answer. Default: true.
  bool idempotency_keys = true;
  // Longest wait for the regions to agree after healing. Default: 60 s.
  std::chrono::milliseconds converge_timeout{60000};
  // Two likes of one mysfit acknowledged by different regions within this window are
  // concurrent: a count lost among them is reported as superseded under last-writer-wins.
  // Default: 2 s.
  std::chrono::milliseconds lww_window{2000};
  // Conflict-free likes: when set, the drill first tags (true) or untags (false) the table in
  // every region with `mysfits:counter-merge` = `true`, so concurrent likes merge as counters
  // instead of last-writer-wins. Default: unset (the table is left as it is).
  std::optional<bool> counter_merge;
  // The DynamoDB table holding the mysfits. Default: MysfitsTable.
  std::string table_name = "MysfitsTable";
  // The `mysfits` executable (for `ecs update-service` and `up` when healing). Default: empty.
  std::string mysfits_exe;
  // Progress lines (may be empty).
  std::function<void(const std::string&)> progress;
};

// Runs the drill; the report is JSON (see docs/drill.md for its keys). Fails only when the
// drill could not run at all (no accelerator, unreadable system); measured failures are in the
// report.
[[nodiscard]] result<boost::json::object> run_drill(const drill_options& o);

// The report as text for people.
[[nodiscard]] std::string format_report(const boost::json::object& report);

}  // namespace mysfits::drill

// mysfits-table: the DynamoDB-compatible table engine (DESIGN.md §2.1).
//   mysfits-table serve --listen 127.0.0.1:8000 --data-dir DIR --region us-west-2
//                       [--regions-file regions.json]   (global tables, docs/table.md)
// Prints "mysfits-table listening on http://ADDR:PORT" once serving; stops on SIGINT/SIGTERM.
#include <CLI/CLI.hpp>
#include <cstdio>
#include <iostream>

#include "mysfits/common/http_server.h"
#include "mysfits/common/log.h"
#include "mysfits/common/scheduling.h"
#include "mysfits/table/server.h"

int main(int argc, char** argv) {
  CLI::App app{"mysfits-table: a DynamoDB-compatible table engine on RocksDB"};
  app.require_subcommand(1);
  auto* serve = app.add_subcommand("serve", "Serve the DynamoDB API");
  std::string listen = "127.0.0.1:8000";
  mysfits::table::options o;
  bool no_sync = false;
  serve->add_option("--listen", listen, "ADDRESS:PORT to listen on (port 0 picks one)")
      ->capture_default_str();
  serve->add_option("--data-dir", o.data_dir, "RocksDB data directory")->required();
  serve->add_option("--region", o.region, "This replica's region")->capture_default_str();
  serve->add_option("--access-key-id", o.access_key_id, "Require SigV4 with this key id");
  serve->add_option("--secret-access-key", o.secret_access_key, "… and this secret key");
  serve->add_option("--threads", o.threads, "Request threads")->capture_default_str();
  serve
      ->add_option("--stream-retention-seconds", o.stream_retention_seconds,
                   "How long DynamoDB Streams records are kept")
      ->capture_default_str()
      ->check(CLI::PositiveNumber);
  serve->add_option("--regions-file", o.regions_file,
                    "Global tables: JSON file from region name to endpoint URL (issue 3)");
  serve
      ->add_option("--replication-poll-wait-ms", o.replication_poll_wait_ms,
                   "How long a replication pull waits at a peer for changes")
      ->capture_default_str();
  serve
      ->add_option("--tombstone-retention-seconds", o.tombstone_retention_seconds,
                   "Keep tombstones of deleted global-table items this long")
      ->capture_default_str();
  serve
      ->add_option("--index-backfill-page-items", o.index_backfill_page_items,
                   "Items a GSI back-fill indexes per page (one batch with its progress)")
      ->capture_default_str()
      ->check(CLI::PositiveNumber);
  serve
      ->add_option("--index-backfill-page-delay-ms", o.index_backfill_page_delay_ms,
                   "Pause after each GSI back-fill page (tests: a back-fill in progress)")
      ->capture_default_str();
  serve
      ->add_option("--replica-backfill-page-delay-ms", o.replica_backfill_page_delay_ms,
                   "Pause after each snapshot page a replica's back-fill applies (tests)")
      ->capture_default_str();
  serve->add_flag(
      "--no-sync", no_sync,
      "Acknowledge writes before the WAL is fsynced (survives kill -9, not power loss)");
  serve->add_option("--rocksdb-options", o.rocksdb_options,
                    "RocksDB options over the engine's own, \"name=value;...\" (tuning)");
  std::string scheduling = "batch";
  serve
      ->add_option("--scheduling", scheduling,
                   "CPU scheduling policy of the process: batch (no wake-up preemption: fewer "
                   "context switches per request) or normal")
      ->check(CLI::IsMember({"batch", "normal"}))
      ->capture_default_str();
  CLI11_PARSE(app, argc, argv);
  o.sync_writes = !no_sync;

  auto colon = listen.rfind(':');
  if (colon == std::string::npos) {
    std::cerr << "--listen must be ADDRESS:PORT\n";
    return 2;
  }
  o.listen_address = listen.substr(0, colon);
  if (o.listen_address.size() > 1 && o.listen_address.front() == '[')
    o.listen_address = o.listen_address.substr(1, o.listen_address.size() - 2);
  try {
    o.port = static_cast<std::uint16_t>(std::stoul(listen.substr(colon + 1)));
  } catch (const std::exception&) {
    std::cerr << "--listen must be ADDRESS:PORT\n";
    return 2;
  }
  // Before any thread starts (the log's flusher included), so every one inherits the policy.
  auto policy = mysfits::scheduling::parse(scheduling);
  auto scheduled = mysfits::scheduling::apply(*policy);
  mysfits::log::init("mysfits-table");
  if (!scheduled)
    spdlog::warn("scheduling policy {} not applied, running under the one inherited: {}",
                 scheduling, scheduled.error().message);
  mysfits::table::server s(o);
  if (auto r = s.start(); !r) {
    std::cerr << "mysfits-table: cannot start: " << r.error().message << "\n";
    return 1;
  }
  std::cout << "mysfits-table listening on http://" << o.listen_address << ":" << s.port()
            << std::endl;
  mysfits::http::wait_for_termination_signal();
  spdlog::info("stopping");
  s.stop();
  spdlog::info("stopped");
  return 0;
}

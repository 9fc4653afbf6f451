// mysfits-core: the core service, or `mysfits-core seed` to create and fill the table.
// Configured by environment (AWS_REGION, DDB_TABLE_NAME, PORT, the SDK's endpoint and
// credential variables); see docs/app.md.
#include <CLI/CLI.hpp>

#include "mysfits/app/core_service.h"
#include "mysfits/app/seed.h"
#include "mysfits/common/log.h"
#include "service_runner.h"

int main(int argc, char** argv) {
  using namespace mysfits;
  CLI::App cli{"Mythical Mysfits core service"};
  auto* seed_cmd = cli.add_subcommand("seed", "create the mysfits table if missing and load it");
  CLI11_PARSE(cli, argc, argv);
  log::init("mysfits-core");

  ddbclient::client table(app::detail::client_options_from_env());
  std::string table_name = app::detail::env_or("DDB_TABLE_NAME", "MysfitsTable");
  if (*seed_cmd) {
    app::seed_options so;
    so.table_name = table_name;
    auto report = app::seed(table, so);
    if (!report) {
      spdlog::error("seed failed: {}: {}", report.error().type, report.error().message);
      return 1;
    }
    std::printf("seeded %s at %s: table %s, %d inserted, %d already present\n", table_name.c_str(),
                table.target().url().c_str(), report->created_table ? "created" : "existed",
                report->inserted, report->existing);
    return 0;
  }
  app::core_options o;
  o.region = app::detail::env_or("AWS_REGION", "local");
  o.table_name = table_name;
  o.deadline_tolerance = app::detail::deadline_tolerance_from_env();
  app::core_service service(o, table);
  spdlog::info("mysfits-core: region {}, table {} at {}", o.region, o.table_name,
               table.target().url());
  return app::detail::serve("mysfits-core",
                            [&](http::request& req, std::function<void(http::response)> answer) {
                              service.handle_async(req, std::move(answer));
                            });
}

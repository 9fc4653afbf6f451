// mysfits-like: the like service. Configured by environment (DDB_TABLE_NAME, PORT, CHAOSMODE,
// the SDK's region, endpoint and credential variables); see docs/app.md.
#include "mysfits/app/like_service.h"
#include "mysfits/common/log.h"
#include "service_runner.h"

int main() {
  using namespace mysfits;
  log::init("mysfits-like");
  ddbclient::client table(app::detail::client_options_from_env());
  app::like_options o;
  o.table_name = app::detail::env_or("DDB_TABLE_NAME", "MysfitsTable");
  o.chaos_mode = app::detail::env_or("CHAOSMODE", "off") == "on";
  o.deadline_tolerance = app::detail::deadline_tolerance_from_env();
  app::like_service service(o, table);
  spdlog::info("mysfits-like: table {} at {}, chaos mode {}", o.table_name, table.target().url(),
               o.chaos_mode ? "on" : "off");
  return app::detail::serve("mysfits-like",
                            [&](http::request& req, std::function<void(http::response)> answer) {
                              service.handle_async(req, std::move(answer));
                            });
}

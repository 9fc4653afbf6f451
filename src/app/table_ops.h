// The table operations the routes perform, as DynamoDB requests; shared by the core and like
// services so a like means the same thing whichever service takes it.
#pragma once

#include <boost/json.hpp>
#include <optional>
#include <string>

#include "mysfits/ddbclient/client.h"

namespace mysfits::app::detail {

// All mysfits (Scan, every page).
[[nodiscard]] ddbclient::call_result<boost::json::array> list_mysfits(
    ddbclient::table_api& t, const std::string& table, const ddbclient::call_context& ctx);
// Mysfits whose `attribute` ("GoodEvil" / "LawChaos") equals `value`, through <attribute>Index,
// with KeyConditions as the original service sends them.
[[nodiscard]] ddbclient::call_result<boost::json::array> query_mysfits(
    ddbclient::table_api& t, const std::string& table, const std::string& attribute,
    const std::string& value, const ddbclient::call_context& ctx);
// The same two reads answered as the list route's body, {"mysfits":[…]} (mysfit_list_json's
// text), written straight from the table's answers (append_items_json), every page followed.
[[nodiscard]] ddbclient::call_result<std::string> list_mysfits_json(
    ddbclient::table_api& t, const std::string& table, const ddbclient::call_context& ctx);
[[nodiscard]] ddbclient::call_result<std::string> query_mysfits_json(
    ddbclient::table_api& t, const std::string& table, const std::string& attribute,
    const std::string& value, const ddbclient::call_context& ctx);
// One mysfit's item, or nullopt when there is none.
[[nodiscard]] ddbclient::call_result<std::optional<boost::json::object>> get_mysfit(
    ddbclient::table_api& t, const std::string& table, const std::string& id,
    const ddbclient::call_context& ctx);

enum class write_outcome { done, not_found, conflict };
struct like_result {
  write_outcome outcome = write_outcome::done;
  boost::json::value likes;  // the new count when done
};
// ADD Likes :n (n = count, the likes of one batch of requests) if the mysfit exists.
[[nodiscard]] ddbclient::call_result<like_result> like_mysfit(ddbclient::table_api& t,
                                                              const std::string& table,
                                                              const std::string& id,
                                                              std::size_t count,
                                                              const ddbclient::call_context& ctx);
// SET Adopted = true if it exists and is not adopted yet; conflict when it already is.
[[nodiscard]] ddbclient::call_result<write_outcome> adopt_mysfit(
    ddbclient::table_api& t, const std::string& table, const std::string& id,
    const ddbclient::call_context& ctx);

}  // namespace mysfits::app::detail

// The mysfit record: DynamoDB item <-> the app's JSON shape, the shipped reference data
// (data/mysfits.tsv embedded at build time plus the project's own descriptions), id checks.
#pragma once

#include <boost/json.hpp>
#include <string>
#include <string_view>
#include <vector>

#include "mysfits/common/result.h"

namespace mysfits::app {

struct mysfit_seed {
  std::string id, name, species, good_evil, law_chaos, description;
  std::string age;  // decimal digits
};

// The twelve mysfits from the embedded mysfits.tsv, with descriptions and picture paths.
[[nodiscard]] result<std::vector<mysfit_seed>> shipped_mysfits();
// Parses mysfits.tsv text (header line, then MysfitId Name Species Age GoodEvil LawChaos).
[[nodiscard]] result<std::vector<mysfit_seed>> parse_mysfits_tsv(std::string_view text);

// "/img/<species, lower case>.svg"
[[nodiscard]] std::string picture_uri(std::string_view species);

// The DynamoDB item for a seed record (Likes 0, Adopted false).
[[nodiscard]] boost::json::object to_item(const mysfit_seed& m);
// The app's JSON for a DynamoDB item: mysfitId, name, species, description, age, goodevil,
// lawchaos, thumbImageUri, profileImageUri, likes, adopted. Missing attributes get defaults.
[[nodiscard]] boost::json::object to_json(const boost::json::object& item);
// Appends the text json::serialize(to_json(item)) would give, without building the object: the
// list routes write twelve of these per request.
void append_json(std::string& out, const boost::json::object& item);
// {"mysfits":[…]} for the items of a Scan or Query (non-objects are skipped), as text.
[[nodiscard]] std::string mysfit_list_json(const boost::json::array& items);

// What append_items_json found in one Scan or Query answer.
struct items_page {
  bool ok = false;            // the answer is a JSON object
  bool has_last_key = false;  // it has a non-empty LastEvaluatedKey (another page follows)
};
// Appends the app's JSON for every item of a Scan or Query answer's "Items" (the JSON text as
// the table sent it) to `out`, comma-separated, exactly as mysfit_list_json writes them; `first`
// says whether no item has been written yet (and is updated). Reads the text once with a
// streaming parser, without building a document: parsing the answer into objects and looking
// up eleven attributes in each was most of a list request's cost.
[[nodiscard]] items_page append_items_json(std::string& out, std::string_view answer, bool& first);

// Ids are the table's hash keys: 1–64 characters of A–Z a–z 0–9 '-' '_'.
[[nodiscard]] bool is_valid_mysfit_id(std::string_view id);

// {"MysfitId": {"S": id}}
[[nodiscard]] boost::json::object key_of(std::string_view id);

}  // namespace mysfits::app

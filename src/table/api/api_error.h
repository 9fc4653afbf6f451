// table::api_error: the one error type of the DynamoDB protocol (STYLE.md §2).
// Request-path code throws it (validation helpers deep in the parser included); only the router
// catches it and turns it into the {"__type": …, "message": …} body with its HTTP status.
// Shapes follow https://docs.aws.amazon.com/amazondynamodb/latest/APIReference/CommonErrors.html
#pragma once

#include <stdexcept>
#include <string>
#include <utility>

namespace mysfits::table {

class api_error : public std::exception {
 public:
  api_error(std::string type, std::string message, unsigned http_status = 400)
      : type_(std::move(type)), message_(std::move(message)), http_status_(http_status) {}

  // The short exception name, e.g. "ValidationException".
  const std::string& type() const noexcept { return type_; }
  const std::string& message() const noexcept { return message_; }
  unsigned http_status() const noexcept { return http_status_; }
  const char* what() const noexcept override { return message_.c_str(); }

  // The __type value on the wire: DynamoDB prefixes most names with the service namespace.
  std::string wire_type() const { return "com.amazonaws.dynamodb.v20120810#" + type_; }

  // ReturnValuesOnConditionCheckFailure=ALL_OLD: the error body also carries "Item" (the
  // serialized item JSON); empty when there is none.
  api_error& with_item(std::string item_json) {
    item_json_ = std::move(item_json);
    return *this;
  }
  const std::string& item_json() const noexcept { return item_json_; }

  static api_error validation(std::string m) { return {"ValidationException", std::move(m)}; }
  static api_error resource_not_found(std::string m) {
    return {"ResourceNotFoundException", std::move(m)};
  }
  static api_error resource_in_use(std::string m) {
    return {"ResourceInUseException", std::move(m)};
  }
  static api_error conditional_check_failed(std::string m = "The conditional request failed") {
    return {"ConditionalCheckFailedException", std::move(m)};
  }
  static api_error serialization(std::string m) { return {"SerializationException", std::move(m)}; }
  static api_error unknown_operation(std::string m = "") {
    return {"UnknownOperationException", std::move(m)};
  }
  static api_error missing_authentication_token(std::string m) {
    return {"MissingAuthenticationTokenException", std::move(m)};
  }
  static api_error invalid_signature(std::string m) {
    return {"InvalidSignatureException", std::move(m)};
  }
  static api_error unrecognized_client(std::string m) {
    return {"UnrecognizedClientException", std::move(m)};
  }
  static api_error limit_exceeded(std::string m) {
    return {"LimitExceededException", std::move(m)};
  }
  static api_error item_collection_size_limit_exceeded(std::string m) {
    return {"ItemCollectionSizeLimitExceededException", std::move(m)};
  }
  static api_error transaction_conflict(std::string m) {
    return {"TransactionConflictException", std::move(m)};
  }
  static api_error internal_server_error(std::string m = "Internal server error") {
    return {"InternalServerError", std::move(m), 500};
  }
  static api_error service_unavailable(std::string m) {
    return {"ServiceUnavailable", std::move(m), 503};
  }

 private:
  std::string type_;
  std::string message_;
  unsigned http_status_;
  std::string item_json_;
};

}  // namespace mysfits::table

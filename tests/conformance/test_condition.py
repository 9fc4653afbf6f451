# ConditionExpression on PutItem / UpdateItem / DeleteItem: every comparator and function,
# AND / OR / NOT and parentheses, ConditionalCheckFailedException, ReturnValuesOnConditionCheckFailure,
# placeholders unused or missing, and reserved words (issue 2).
import json
from decimal import Decimal

import pytest
from botocore.exceptions import ClientError

from util import error_code, error_type, random_string, raw_request

ITEM = {"n": 5, "s": "hello", "b": b"\x02\x03", "bool": True, "nothing": None,
        "l": [1, "two", 3], "m": {"x": 1, "y": {"z": "deep"}}, "ss": {"a", "b"},
        "ns": {1, 2, 3}, "bs": {b"\x01"}, "u": "\u00e9\U0001d11e"}


@pytest.fixture(scope="module")
def item_key(test_table_s):
    p = random_string()
    test_table_s.put_item(Item={"p": p, **ITEM})
    return p


def holds(table, p, condition, values=None, names=None):
    """Whether `condition` holds on item p (an UpdateItem that changes nothing else)."""
    kwargs = {"Key": {"p": p}, "UpdateExpression": "SET touched = :touched",
              "ConditionExpression": condition,
              "ExpressionAttributeValues": {":touched": 1, **(values or {})}}
    if names:
        kwargs["ExpressionAttributeNames"] = names
    try:
        table.update_item(**kwargs)
        return True
    except ClientError as e:
        if error_code_of(e) == "ConditionalCheckFailedException":
            return False
        raise


def error_code_of(e):
    return e.response["Error"]["Code"]


# Each comparator on numbers, strings and binary, including type mismatches (always false).
@pytest.mark.parametrize("cond,value,expected", [
    ("n = :v", 5, True), ("n = :v", 6, False), ("n <> :v", 6, True), ("n <> :v", 5, False),
    ("n < :v", 6, True), ("n < :v", 5, False), ("n <= :v", 5, True), ("n <= :v", 4, False),
    ("n > :v", 4, True), ("n > :v", 5, False), ("n >= :v", 5, True), ("n >= :v", 6, False),
    ("n = :v", Decimal("5.000"), True), ("n < :v", Decimal("10"), True),
    ("s = :v", "hello", True), ("s < :v", "help", True), ("s > :v", "hell", True),
    ("s < :v", "Hello", False),
    ("b = :v", b"\x02\x03", True), ("b < :v", b"\x02\x04", True), ("b > :v", b"\x02", True),
    ("n = :v", "5", False), ("n < :v", "6", False), ("n <> :v", "5", True),
    ("bool = :v", True, True), ("nothing = :v", None, True),
    ("l = :v", [1, "two", 3], True), ("m = :v", {"x": 1, "y": {"z": "deep"}}, True),
    ("ss = :v", {"b", "a"}, True), ("missing_attr = :v", 1, False),
    ("missing_attr <> :v", 1, True),
])
def test_condition_comparators(test_table_s, item_key, cond, value, expected):
    assert holds(test_table_s, item_key, cond, {":v": value}) is expected


# BETWEEN is inclusive on both ends; IN matches any listed value.
@pytest.mark.parametrize("cond,values,expected", [
    ("n BETWEEN :a AND :b", {":a": 5, ":b": 9}, True),
    ("n BETWEEN :a AND :b", {":a": 1, ":b": 5}, True),
    ("n BETWEEN :a AND :b", {":a": 6, ":b": 9}, False),
    ("s BETWEEN :a AND :b", {":a": "h", ":b": "i"}, True),
    ("n IN (:a, :b)", {":a": 1, ":b": 5}, True),
    ("n IN (:a, :b)", {":a": 1, ":b": 2}, False),
    ("s IN (:a)", {":a": "hello"}, True),
])
def test_condition_between_in(test_table_s, item_key, cond, values, expected):
    assert holds(test_table_s, item_key, cond, values) is expected


# Functions: attribute_exists / attribute_not_exists / attribute_type / begins_with / contains /
# size, on top-level and nested paths.
@pytest.mark.parametrize("cond,values,expected", [
    ("attribute_exists(n)", {}, True), ("attribute_exists(nope)", {}, False),
    ("attribute_not_exists(nope)", {}, True), ("attribute_not_exists(n)", {}, False),
    ("attribute_exists(m.y.z)", {}, True), ("attribute_exists(m.q)", {}, False),
    ("attribute_exists(l[2])", {}, True), ("attribute_exists(l[3])", {}, False),
    ("attribute_type(n, :t)", {":t": "N"}, True), ("attribute_type(n, :t)", {":t": "S"}, False),
    ("attribute_type(ss, :t)", {":t": "SS"}, True), ("attribute_type(m, :t)", {":t": "M"}, True),
    ("attribute_type(nothing, :t)", {":t": "NULL"}, True),
    ("attribute_type(bool, :t)", {":t": "BOOL"}, True),
    ("begins_with(s, :v)", {":v": "hel"}, True), ("begins_with(s, :v)", {":v": "elo"}, False),
    ("begins_with(b, :v)", {":v": b"\x02"}, True),
    ("contains(s, :v)", {":v": "ell"}, True), ("contains(s, :v)", {":v": "xyz"}, False),
    ("contains(ss, :v)", {":v": "a"}, True), ("contains(ss, :v)", {":v": "c"}, False),
    ("contains(ns, :v)", {":v": 2}, True), ("contains(l, :v)", {":v": "two"}, True),
    ("contains(l, :v)", {":v": 2}, False),
    ("size(s) = :v", {":v": 5}, True), ("size(l) = :v", {":v": 3}, True),
    ("size(m) = :v", {":v": 2}, True), ("size(ss) = :v", {":v": 2}, True),
    ("size(b) = :v", {":v": 2}, True), ("size(s) > :v", {":v": 4}, True),
    ("size(nope) = :v", {":v": 0}, False),
    # A string's size counts UTF-16 code units: "é𝄞" is 3 (𝄞 is a surrogate pair), not 6 bytes.
    ("size(u) = :v", {":v": 3}, True), ("size(u) = :v", {":v": 6}, False),
])
def test_condition_functions(test_table_s, item_key, cond, values, expected):
    assert holds(test_table_s, item_key, cond, values) is expected


# Boolean logic and precedence: NOT binds tighter than AND, AND tighter than OR.
@pytest.mark.parametrize("cond,expected", [
    ("n = :five AND s = :hello", True),
    ("n = :six AND s = :hello", False),
    ("n = :six OR s = :hello", True),
    ("NOT n = :six", True),
    ("NOT (n = :five AND s = :hello)", False),
    ("n = :six AND s = :hello OR n = :five", True),
    ("n = :six AND (s = :hello OR n = :five)", False),
    ("NOT n = :six AND n = :six", False),
    ("(n = :five) AND (s = :hello)", True),
    ("n = :five AND NOT (s = :hello OR n = :six)", False),
])
def test_condition_logic(test_table_s, item_key, cond, expected):
    values = {k: v for k, v in {":five": 5, ":six": 6, ":hello": "hello"}.items() if k in cond}
    assert holds(test_table_s, item_key, cond, values) is expected


# #name placeholders work for names that are reserved words or contain dots.
def test_condition_name_placeholders(test_table_s):
    p = random_string()
    test_table_s.put_item(Item={"p": p, "status": "on", "a.b": 1})
    assert holds(test_table_s, p, "#s = :v AND #ab = :one", {":v": "on", ":one": 1},
                 {"#s": "status", "#ab": "a.b"})


# A reserved word used as a bare name is a ValidationException.
def test_condition_reserved_word(test_table_s, item_key):
    with pytest.raises(ClientError) as e:
        holds(test_table_s, item_key, "status = :v", {":v": "x"})
    assert error_code(e) == "ValidationException"


# Unused or missing placeholders, syntax errors and redundant parentheses are
# ValidationExceptions.
@pytest.mark.parametrize("cond,values,names", [
    ("n = :v", {":v": 1, ":unused": 2}, None),
    ("n = :absent", {}, None),
    ("#absent = :v", {":v": 1}, None),
    ("n = :v", {":v": 1}, {"#unused": "n"}),
    ("n = ", {}, None),
    ("n = :v AND", {":v": 1}, None),
    ("(n = :v", {":v": 1}, None),
    ("n BETWEEN :v", {":v": 1}, None),
    ("no_such_function(n)", {}, None),
    ("((n = :v))", {":v": 1}, None),
    ("attribute_type(n, :v)", {":v": "NOTATYPE"}, None),
    ("n BETWEEN :b AND :a", {":a": 1, ":b": 9}, None),
])
def test_condition_errors(test_table_s, item_key, cond, values, names):
    with pytest.raises(ClientError) as e:
        holds(test_table_s, item_key, cond, values, names)
    assert error_code(e) == "ValidationException"


# PutItem with attribute_not_exists is the create-only idiom.
def test_put_item_condition(test_table_s):
    p = random_string()
    test_table_s.put_item(Item={"p": p, "v": 1}, ConditionExpression="attribute_not_exists(p)")
    with pytest.raises(ClientError) as e:
        test_table_s.put_item(Item={"p": p, "v": 2}, ConditionExpression="attribute_not_exists(p)")
    assert error_code(e) == "ConditionalCheckFailedException"
    assert test_table_s.get_item(Key={"p": p}, ConsistentRead=True)["Item"]["v"] == 1


# DeleteItem honours its condition and leaves the item on failure.
def test_delete_item_condition(test_table_s):
    p = random_string()
    test_table_s.put_item(Item={"p": p, "v": 1})
    with pytest.raises(ClientError) as e:
        test_table_s.delete_item(Key={"p": p}, ConditionExpression="v = :v",
                                 ExpressionAttributeValues={":v": 2})
    assert error_code(e) == "ConditionalCheckFailedException"
    test_table_s.delete_item(Key={"p": p}, ConditionExpression="v = :v",
                             ExpressionAttributeValues={":v": 1})
    assert "Item" not in test_table_s.get_item(Key={"p": p}, ConsistentRead=True)


# A failed condition on UpdateItem changes nothing.
def test_update_item_condition_failed_changes_nothing(test_table_s):
    p = random_string()
    test_table_s.put_item(Item={"p": p, "v": 1})
    with pytest.raises(ClientError) as e:
        test_table_s.update_item(Key={"p": p}, UpdateExpression="SET v = :new",
                                 ConditionExpression="v = :old",
                                 ExpressionAttributeValues={":new": 3, ":old": 2})
    assert error_code(e) == "ConditionalCheckFailedException"
    assert test_table_s.get_item(Key={"p": p}, ConsistentRead=True)["Item"] == {"p": p, "v": 1}


# A condition on a missing item sees no attributes: attribute_exists fails, <> succeeds.
def test_condition_on_missing_item(test_table_s):
    p = random_string()
    assert not holds(test_table_s, p, "attribute_exists(p)")
    assert "Item" not in test_table_s.get_item(Key={"p": p}, ConsistentRead=True)


# ReturnValuesOnConditionCheckFailure=ALL_OLD puts the current item in the error body (sent raw:
# the installed botocore predates the parameter).
def test_return_values_on_condition_check_failure(client, test_table_s):
    p = random_string()
    test_table_s.put_item(Item={"p": p, "v": 1})
    body = {"TableName": test_table_s.name, "Item": {"p": {"S": p}, "v": {"N": "2"}},
            "ConditionExpression": "attribute_not_exists(p)",
            "ReturnValuesOnConditionCheckFailure": "ALL_OLD"}
    status, payload = raw_request(client, "DynamoDB_20120810.PutItem", json.dumps(body).encode())
    assert status == 400
    assert error_type(payload) == "ConditionalCheckFailedException"
    assert payload["Item"] == {"p": {"S": p}, "v": {"N": "1"}}
    body["ReturnValuesOnConditionCheckFailure"] = "NONE"
    status, payload = raw_request(client, "DynamoDB_20120810.PutItem", json.dumps(body).encode())
    assert status == 400 and "Item" not in payload

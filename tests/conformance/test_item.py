# PutItem / GetItem / DeleteItem: every attribute type round-trips, number precision, projection,
# ReturnValues, and the validation errors DynamoDB gives for bad items and keys (issue 2).
from decimal import Decimal

import pytest
from botocore.exceptions import ClientError

from util import error_code, random_bytes, random_string


def put_get(client, table, item):
    client.put_item(TableName=table.name, Item=item)
    return client.get_item(TableName=table.name, Key={"p": item["p"]}, ConsistentRead=True)


# Every type DynamoDB has must come back exactly as written (sets compared as sets).
@pytest.mark.parametrize("value", [
    {"S": "hello ✓ unicode"},
    {"S": ""},
    {"N": "12.5"},
    {"N": "-7"},
    {"B": b"\x00\x01\xff"},
    {"BOOL": True},
    {"BOOL": False},
    {"NULL": True},
    {"M": {"a": {"S": "x"}, "b": {"M": {"c": {"N": "1"}}}}},
    {"L": [{"S": "x"}, {"N": "2"}, {"L": []}, {"M": {}}]},
    {"SS": ["a", "b", "c"]},
    {"NS": ["1", "2.5", "-3"]},
    {"BS": [b"\x01", b"\x02"]},
])
def test_item_type_round_trip(client, test_table_s, value):
    p = random_string()
    got = put_get(client, test_table_s, {"p": {"S": p}, "a": value})["Item"]["a"]
    (kind, v), = value.items()
    (got_kind, got_v), = got.items()
    assert got_kind == kind
    if kind in ("SS", "BS"):
        assert sorted(got_v) == sorted(v)
    elif kind == "NS":
        assert sorted(Decimal(x) for x in got_v) == sorted(Decimal(x) for x in v)
    elif kind == "N":
        assert Decimal(got_v) == Decimal(v)
    else:
        assert got_v == v


# The resource API (Python types) is what the app code uses; it must round-trip too.
def test_item_resource_round_trip(test_table_s):
    item = {"p": random_string(), "n": Decimal("3.14"), "l": [1, "two", None, True],
            "m": {"k": {"nested": b"bin"}}, "ss": {"x", "y"}}
    test_table_s.put_item(Item=item)
    got = test_table_s.get_item(Key={"p": item["p"]}, ConsistentRead=True)["Item"]
    assert got["n"] == Decimal("3.14") and got["ss"] == {"x", "y"}
    assert got["l"] == [1, "two", None, True]
    assert got["m"]["k"]["nested"].value == b"bin"


# DynamoDB keeps 38 significant digits exactly, and the magnitudes at both ends of its range.
@pytest.mark.parametrize("number", [
    "12345678901234567890123456789012345678",
    "0.12345678901234567890123456789012345678",
    "-9.9999999999999999999999999999999999999E+125",
    "1E-130",
    "1E+125",
])
def test_item_number_precision(client, test_table_s, number):
    got = put_get(client, test_table_s, {"p": {"S": random_string()}, "a": {"N": number}})
    assert Decimal(got["Item"]["a"]["N"]) == Decimal(number)


# More than 38 significant digits or out-of-range magnitudes are rejected, not rounded.
@pytest.mark.parametrize("number", [
    "123456789012345678901234567890123456789",
    "1E+126",
    "1E-131",
    "not-a-number",
])
def test_item_number_rejected(client, test_table_s, number):
    with pytest.raises(ClientError) as e:
        client.put_item(TableName=test_table_s.name,
                        Item={"p": {"S": random_string()}, "a": {"N": number}})
    assert error_code(e) == "ValidationException"


# Numbers come back in DynamoDB's one canonical form whatever text was written: no exponent, no
# leading or trailing zeros, no sign on zero, in sets, maps, lists and keys alike (clients that
# compare the text, or the item with what they wrote, rely on it).
@pytest.mark.parametrize("written,returned", [
    ("1.0", "1"),
    ("00042", "42"),
    ("-0", "0"),
    ("-0.000", "0"),
    ("1.5E2", "150"),
    ("1.50", "1.5"),
    ("2.5e-3", "0.0025"),
    ("1E+20", "100000000000000000000"),
])
def test_item_number_canonical_form(client, test_table_s, test_table_sn, written, returned):
    p = random_string()
    item = {"p": {"S": p}, "n": {"N": written}, "ns": {"NS": [written, "7"]},
            "m": {"M": {"l": {"L": [{"N": written}]}}}}
    got = put_get(client, test_table_s, item)["Item"]
    assert got["n"] == {"N": returned}
    assert sorted(got["ns"]["NS"]) == sorted([returned, "7"])
    assert got["m"] == {"M": {"l": {"L": [{"N": returned}]}}}
    # A number sort key: the item, Query and LastEvaluatedKey all carry the canonical text.
    client.put_item(TableName=test_table_sn.name, Item={"p": {"S": p}, "c": {"N": written}})
    client.put_item(TableName=test_table_sn.name, Item={"p": {"S": p}, "c": {"N": "1E+30"}})
    got = client.get_item(TableName=test_table_sn.name, Key={"p": {"S": p}, "c": {"N": returned}},
                          ConsistentRead=True)["Item"]
    assert got["c"] == {"N": returned}
    r = client.query(TableName=test_table_sn.name, KeyConditionExpression="p = :p",
                     ExpressionAttributeValues={":p": {"S": p}}, Limit=1, ConsistentRead=True)
    assert r["Items"] == [{"p": {"S": p}, "c": {"N": returned}}]
    assert r["LastEvaluatedKey"]["c"] == {"N": returned}


def nested_map(levels):
    """A value `levels` deep: levels - 1 maps around a string."""
    v = {"S": "x"}
    for _ in range(levels - 1):
        v = {"M": {"a": v}}
    return v


# Documents nest up to 32 levels (the attribute itself the first), through every write and read
# path; a 33rd level is a ValidationException, not a parse error.
def test_item_nesting_limit(client, test_table_s):
    deep = nested_map(32)
    deep_list = {"S": "x"}
    for _ in range(31):
        deep_list = {"L": [deep_list]}
    p = random_string()
    assert put_get(client, test_table_s, {"p": {"S": p}, "a": deep, "b": deep_list})["Item"] == {
        "p": {"S": p}, "a": deep, "b": deep_list}
    q = random_string()
    client.batch_write_item(RequestItems={test_table_s.name: [
        {"PutRequest": {"Item": {"p": {"S": q}, "a": deep}}}]})
    got = client.batch_get_item(RequestItems={test_table_s.name: {"Keys": [{"p": {"S": q}}]}})
    assert got["Responses"][test_table_s.name] == [{"p": {"S": q}, "a": deep}]
    r = client.scan(TableName=test_table_s.name, FilterExpression="p = :p",
                    ExpressionAttributeValues={":p": {"S": q}})
    assert r["Items"] == [{"p": {"S": q}, "a": deep}]
    with pytest.raises(ClientError) as e:
        client.put_item(TableName=test_table_s.name,
                        Item={"p": {"S": random_string()}, "a": nested_map(33)})
    assert error_code(e) == "ValidationException"


# Attribute names, top-level or map keys, are at most 65535 bytes, however the item is written.
def test_attribute_name_length(client, test_table_s):
    longest, too_long = "n" * 65535, "n" * 65536
    p = {"S": random_string()}
    item = {"p": p, longest: {"S": "x"}, "m": {"M": {longest: {"N": "1"}}}}
    assert put_get(client, test_table_s, item)["Item"] == item
    for bad in ({"p": p, too_long: {"S": "x"}}, {"p": p, "m": {"M": {too_long: {"N": "1"}}}}):
        with pytest.raises(ClientError) as e:
            client.put_item(TableName=test_table_s.name, Item=bad)
        assert error_code(e) == "ValidationException"
    with pytest.raises(ClientError) as e:
        client.update_item(TableName=test_table_s.name, Key={"p": p}, UpdateExpression="SET #n = :v",
                           ExpressionAttributeNames={"#n": too_long},
                           ExpressionAttributeValues={":v": {"S": "x"}})
    assert error_code(e) == "ValidationException"
    assert client.get_item(TableName=test_table_s.name, Key={"p": p},
                           ConsistentRead=True)["Item"] == item


# A write's ReturnItemCollectionMetrics is SIZE or NONE; another value is a ValidationException.
def test_return_item_collection_metrics(client, test_table_s):
    p = {"S": random_string()}
    client.put_item(TableName=test_table_s.name, Item={"p": p}, ReturnItemCollectionMetrics="SIZE")
    client.update_item(TableName=test_table_s.name, Key={"p": p},
                       ReturnItemCollectionMetrics="NONE")
    for call in (
        lambda: client.put_item(TableName=test_table_s.name, Item={"p": p},
                                ReturnItemCollectionMetrics="ALL"),
        lambda: client.update_item(TableName=test_table_s.name, Key={"p": p},
                                   ReturnItemCollectionMetrics="ALL"),
        lambda: client.delete_item(TableName=test_table_s.name, Key={"p": p},
                                   ReturnItemCollectionMetrics="ALL"),
        lambda: client.batch_write_item(
            RequestItems={test_table_s.name: [{"DeleteRequest": {"Key": {"p": p}}}]},
            ReturnItemCollectionMetrics="ALL"),
    ):
        with pytest.raises(ClientError) as e:
            call()
        assert error_code(e) == "ValidationException"
    assert "Item" in client.get_item(TableName=test_table_s.name, Key={"p": p}, ConsistentRead=True)


# A missing item reads as a response without "Item".
def test_get_item_missing(client, test_table_s):
    r = client.get_item(TableName=test_table_s.name, Key={"p": {"S": random_string()}})
    assert "Item" not in r


# Put replaces the whole item; it does not merge attributes.
def test_put_item_replaces(test_table_s):
    p = random_string()
    test_table_s.put_item(Item={"p": p, "a": 1, "b": 2})
    test_table_s.put_item(Item={"p": p, "c": 3})
    assert test_table_s.get_item(Key={"p": p}, ConsistentRead=True)["Item"] == {"p": p, "c": 3}


# Delete removes the item; deleting a missing item is not an error.
def test_delete_item(test_table_s):
    p = random_string()
    test_table_s.put_item(Item={"p": p, "a": 1})
    test_table_s.delete_item(Key={"p": p})
    assert "Item" not in test_table_s.get_item(Key={"p": p}, ConsistentRead=True)
    test_table_s.delete_item(Key={"p": p})


# Hash+range items are distinct per sort key.
def test_item_hash_range(test_table_sn):
    p = random_string()
    test_table_sn.put_item(Item={"p": p, "c": 1, "v": "one"})
    test_table_sn.put_item(Item={"p": p, "c": 2, "v": "two"})
    assert test_table_sn.get_item(Key={"p": p, "c": 1})["Item"]["v"] == "one"
    assert test_table_sn.get_item(Key={"p": p, "c": 2})["Item"]["v"] == "two"


# ProjectionExpression returns only the named (possibly nested) attributes.
def test_get_item_projection(test_table_s):
    p = random_string()
    test_table_s.put_item(Item={"p": p, "a": 1, "b": {"x": 1, "y": 2}, "l": [10, 20, 30],
                                "#weird": 5})
    got = test_table_s.get_item(Key={"p": p}, ProjectionExpression="a, b.y, l[1], #w",
                                ExpressionAttributeNames={"#w": "#weird"})["Item"]
    assert got == {"a": 1, "b": {"y": 2}, "l": [20], "#weird": 5}


# AttributesToGet (legacy) on GetItem.
def test_get_item_attributes_to_get(test_table_s):
    p = random_string()
    test_table_s.put_item(Item={"p": p, "a": 1, "b": 2})
    assert test_table_s.get_item(Key={"p": p}, AttributesToGet=["b"])["Item"] == {"b": 2}


# An unused ExpressionAttributeNames entry is a ValidationException.
def test_get_item_unused_name(test_table_s):
    with pytest.raises(ClientError) as e:
        test_table_s.get_item(Key={"p": "x"}, ProjectionExpression="a",
                              ExpressionAttributeNames={"#unused": "b"})
    assert error_code(e) == "ValidationException"


# PutItem ReturnValues=ALL_OLD gives the replaced item, nothing when there was none.
def test_put_item_return_values(test_table_s):
    p = random_string()
    r = test_table_s.put_item(Item={"p": p, "a": 1}, ReturnValues="ALL_OLD")
    assert "Attributes" not in r
    r = test_table_s.put_item(Item={"p": p, "a": 2}, ReturnValues="ALL_OLD")
    assert r["Attributes"] == {"p": p, "a": 1}
    r = test_table_s.put_item(Item={"p": p, "a": 3}, ReturnValues="NONE")
    assert "Attributes" not in r


# PutItem only allows NONE and ALL_OLD.
@pytest.mark.parametrize("rv", ["ALL_NEW", "UPDATED_OLD", "UPDATED_NEW"])
def test_put_item_return_values_rejected(test_table_s, rv):
    with pytest.raises(ClientError) as e:
        test_table_s.put_item(Item={"p": random_string()}, ReturnValues=rv)
    assert error_code(e) == "ValidationException"


# DeleteItem ReturnValues=ALL_OLD gives the deleted item.
def test_delete_item_return_values(test_table_s):
    p = random_string()
    test_table_s.put_item(Item={"p": p, "a": "x"})
    assert test_table_s.delete_item(Key={"p": p}, ReturnValues="ALL_OLD")["Attributes"] == {
        "p": p, "a": "x"}
    assert "Attributes" not in test_table_s.delete_item(Key={"p": p}, ReturnValues="ALL_OLD")
    with pytest.raises(ClientError) as e:
        test_table_s.delete_item(Key={"p": p}, ReturnValues="ALL_NEW")
    assert error_code(e) == "ValidationException"


# Items over 400 KB are rejected; one just under is accepted.
def test_item_too_large(test_table_s):
    p = random_string()
    test_table_s.put_item(Item={"p": p, "a": "x" * (390 * 1024)})
    with pytest.raises(ClientError) as e:
        test_table_s.put_item(Item={"p": p, "a": "x" * (401 * 1024)})
    assert error_code(e) == "ValidationException"
    assert len(test_table_s.get_item(Key={"p": p}, ConsistentRead=True)["Item"]["a"]) == 390 * 1024


# Hash keys are limited to 2048 bytes, range keys to 1024.
def test_key_too_long(test_table_s, test_table_ss):
    test_table_s.put_item(Item={"p": "k" * 2048})
    with pytest.raises(ClientError) as e:
        test_table_s.put_item(Item={"p": "k" * 2049})
    assert error_code(e) == "ValidationException"
    test_table_ss.put_item(Item={"p": "x", "c": "c" * 1024})
    with pytest.raises(ClientError) as e:
        test_table_ss.put_item(Item={"p": "x", "c": "c" * 1025})
    assert error_code(e) == "ValidationException"


# A key attribute of the wrong type, a missing key attribute, an empty string key, or an extra
# attribute in Key are each rejected.
@pytest.mark.parametrize("item", [
    {"p": {"N": "1"}},
    {"q": {"S": "x"}},
    {"p": {"S": ""}},
    {"p": {"SS": ["x"]}},
])
def test_put_item_bad_key(client, test_table_s, item):
    with pytest.raises(ClientError) as e:
        client.put_item(TableName=test_table_s.name, Item=item)
    assert error_code(e) == "ValidationException"


@pytest.mark.parametrize("key", [
    {"p": {"N": "1"}},
    {"p": {"S": "x"}, "extra": {"S": "y"}},
    {},
])
def test_get_item_bad_key(client, test_table_s, key):
    with pytest.raises(ClientError) as e:
        client.get_item(TableName=test_table_s.name, Key=key)
    assert error_code(e) == "ValidationException"


# Empty sets do not exist in DynamoDB; writing one is a ValidationException.
@pytest.mark.parametrize("kind", ["SS", "NS", "BS"])
def test_put_item_empty_set(client, test_table_s, kind):
    with pytest.raises(ClientError) as e:
        client.put_item(TableName=test_table_s.name,
                        Item={"p": {"S": random_string()}, "a": {kind: []}})
    assert error_code(e) == "ValidationException"


# Sets with duplicate members are rejected too.
def test_put_item_duplicate_set_member(client, test_table_s):
    with pytest.raises(ClientError) as e:
        client.put_item(TableName=test_table_s.name,
                        Item={"p": {"S": random_string()}, "a": {"SS": ["x", "x"]}})
    assert error_code(e) == "ValidationException"


# Operations on a table that does not exist give ResourceNotFoundException.
def test_item_missing_table(client):
    with pytest.raises(ClientError) as e:
        client.put_item(TableName="mysfits_no_such_table_" + random_string(),
                        Item={"p": {"S": "x"}})
    assert error_code(e) == "ResourceNotFoundException"
    with pytest.raises(ClientError) as e:
        client.get_item(TableName="mysfits_no_such_table_" + random_string(),
                        Key={"p": {"S": "x"}})
    assert error_code(e) == "ResourceNotFoundException"


# Binary keys round-trip byte for byte.
def test_binary_range_key(test_table_sb):
    c = random_bytes(20)
    test_table_sb.put_item(Item={"p": "b", "c": c, "v": 1})
    assert test_table_sb.get_item(Key={"p": "b", "c": c})["Item"]["v"] == 1

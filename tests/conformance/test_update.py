# UpdateItem's UpdateExpression: SET / REMOVE / ADD / DELETE, nested paths, if_not_exists,
# list_append, exact decimal arithmetic, ReturnValues of each kind, and the errors (issue 2).
from decimal import Decimal

import pytest
from botocore.exceptions import ClientError

from util import error_code, random_string


def new_item(table, **attrs):
    p = random_string()
    table.put_item(Item={"p": p, **attrs})
    return p


def get(table, p):
    return table.get_item(Key={"p": p}, ConsistentRead=True).get("Item")


# UpdateItem on a missing item creates it (upsert).
def test_update_creates_item(test_table_s):
    p = random_string()
    test_table_s.update_item(Key={"p": p}, UpdateExpression="SET a = :v",
                             ExpressionAttributeValues={":v": "x"})
    assert get(test_table_s, p) == {"p": p, "a": "x"}


# An UpdateItem with no expression still creates the item with just its key.
def test_update_without_expression_creates_key_only_item(test_table_s):
    p = random_string()
    test_table_s.update_item(Key={"p": p})
    assert get(test_table_s, p) == {"p": p}


# SET several attributes at once, including via #name placeholders.
def test_update_set_several(test_table_s):
    p = new_item(test_table_s, a=1)
    test_table_s.update_item(Key={"p": p}, UpdateExpression="SET a = :a, #b = :b",
                             ExpressionAttributeNames={"#b": "b"},
                             ExpressionAttributeValues={":a": 2, ":b": [1, 2]})
    assert get(test_table_s, p) == {"p": p, "a": 2, "b": [1, 2]}


# SET into nested maps and list elements; an index past the end appends.
def test_update_set_nested(test_table_s):
    p = new_item(test_table_s, m={"x": {"y": 1}}, l=[1, 2, 3])
    test_table_s.update_item(Key={"p": p},
                             UpdateExpression="SET m.x.z = :v, m.w = :v, l[1] = :v, l[10] = :w",
                             ExpressionAttributeValues={":v": "v", ":w": "w"})
    assert get(test_table_s, p) == {"p": p, "m": {"x": {"y": 1, "z": "v"}, "w": "v"},
                                    "l": [1, "v", 3, "w"]}


# Setting a nested path under a missing parent is a ValidationException.
def test_update_set_nested_missing_parent(test_table_s):
    p = new_item(test_table_s)
    with pytest.raises(ClientError) as e:
        test_table_s.update_item(Key={"p": p}, UpdateExpression="SET m.x = :v",
                                 ExpressionAttributeValues={":v": 1})
    assert error_code(e) == "ValidationException"


# REMOVE top-level attributes, nested map members and list elements (the list closes up).
def test_update_remove(test_table_s):
    p = new_item(test_table_s, a=1, b=2, m={"x": 1, "y": 2}, l=[1, 2, 3])
    test_table_s.update_item(Key={"p": p}, UpdateExpression="REMOVE a, m.x, l[0], absent_attr")
    assert get(test_table_s, p) == {"p": p, "b": 2, "m": {"y": 2}, "l": [2, 3]}


# ADD on numbers adds (creating from 0), on sets unions.
def test_update_add(test_table_s):
    p = new_item(test_table_s, n=5, s={"a"})
    test_table_s.update_item(Key={"p": p}, UpdateExpression="ADD n :one, s :s, fresh :one",
                             ExpressionAttributeValues={":one": 1, ":s": {"b", "c"}})
    assert get(test_table_s, p) == {"p": p, "n": 6, "s": {"a", "b", "c"}, "fresh": 1}


# DELETE removes members from a set; a set emptied this way disappears.
def test_update_delete_from_set(test_table_s):
    p = new_item(test_table_s, s={"a", "b"}, t={1, 2})
    test_table_s.update_item(Key={"p": p}, UpdateExpression="DELETE s :s, t :t",
                             ExpressionAttributeValues={":s": {"a", "zz"}, ":t": {1, 2}})
    assert get(test_table_s, p) == {"p": p, "s": {"b"}}


# ADD with a mismatched type (string onto a number) is a ValidationException.
def test_update_add_wrong_type(test_table_s):
    p = new_item(test_table_s, n=5)
    with pytest.raises(ClientError) as e:
        test_table_s.update_item(Key={"p": p}, UpdateExpression="ADD n :s",
                                 ExpressionAttributeValues={":s": "x"})
    assert error_code(e) == "ValidationException"


# if_not_exists keeps an existing value and supplies a missing one.
def test_update_if_not_exists(test_table_s):
    p = new_item(test_table_s, a=1)
    test_table_s.update_item(Key={"p": p},
                             UpdateExpression="SET a = if_not_exists(a, :v), b = if_not_exists(b, :v)",
                             ExpressionAttributeValues={":v": 9})
    assert get(test_table_s, p) == {"p": p, "a": 1, "b": 9}


# list_append concatenates in either order.
def test_update_list_append(test_table_s):
    p = new_item(test_table_s, l=[2])
    test_table_s.update_item(Key={"p": p}, UpdateExpression="SET l = list_append(:a, l)",
                             ExpressionAttributeValues={":a": [1]})
    test_table_s.update_item(Key={"p": p}, UpdateExpression="SET l = list_append(l, :b)",
                             ExpressionAttributeValues={":b": [3, 4]})
    assert get(test_table_s, p)["l"] == [1, 2, 3, 4]


# list_append of a non-list is a ValidationException.
def test_update_list_append_non_list(test_table_s):
    p = new_item(test_table_s, l=[2])
    with pytest.raises(ClientError) as e:
        test_table_s.update_item(Key={"p": p}, UpdateExpression="SET l = list_append(l, :b)",
                                 ExpressionAttributeValues={":b": 3})
    assert error_code(e) == "ValidationException"


# Arithmetic is exact decimal: 0.1 + 0.2 is 0.3, not a binary-float neighbour.
def test_update_arithmetic_exact(client, test_table_s):
    p = new_item(test_table_s, n=Decimal("0.1"))
    r = client.update_item(TableName=test_table_s.name, Key={"p": {"S": p}},
                           UpdateExpression="SET n = n + :x", ReturnValues="UPDATED_NEW",
                           ExpressionAttributeValues={":x": {"N": "0.2"}})
    assert Decimal(r["Attributes"]["n"]["N"]) == Decimal("0.3")


# 38 significant digits survive addition and subtraction exactly.
@pytest.mark.parametrize("start,op,operand,result", [
    ("12345678901234567890123456789012345677", "+", "1", "12345678901234567890123456789012345678"),
    ("99999999999999999999999999999999999999", "+", "1", "100000000000000000000000000000000000000"),
    ("1", "-", "0.0000000000000000000000000000000000001", "0.9999999999999999999999999999999999999"),
    ("1E+125", "-", "1E+125", "0"),
    ("-5", "+", "3", "-2"),
])
def test_update_arithmetic_38_digits(client, test_table_s, start, op, operand, result):
    p = random_string()
    client.put_item(TableName=test_table_s.name, Item={"p": {"S": p}, "n": {"N": start}})
    r = client.update_item(TableName=test_table_s.name, Key={"p": {"S": p}},
                           UpdateExpression=f"SET n = n {op} :x", ReturnValues="ALL_NEW",
                           ExpressionAttributeValues={":x": {"N": operand}})
    assert Decimal(r["Attributes"]["n"]["N"]) == Decimal(result)


# ADD is exact too (the Likes counter of the app uses it): 38 significant digits after adding.
def test_update_add_exact(client, test_table_s):
    p = random_string()
    client.put_item(TableName=test_table_s.name,
                    Item={"p": {"S": p}, "n": {"N": "0.1234567890123456789012345678901234567"}})
    client.update_item(TableName=test_table_s.name, Key={"p": {"S": p}},
                       UpdateExpression="ADD n :x", ExpressionAttributeValues={":x": {"N": "1"}})
    got = client.get_item(TableName=test_table_s.name, Key={"p": {"S": p}}, ConsistentRead=True)
    assert Decimal(got["Item"]["n"]["N"]) == Decimal("1.1234567890123456789012345678901234567")


# A result beyond DynamoDB's number range is rejected, not stored.
def test_update_arithmetic_overflow(client, test_table_s):
    p = random_string()
    big = "9.9999999999999999999999999999999999999E+125"
    client.put_item(TableName=test_table_s.name, Item={"p": {"S": p}, "n": {"N": big}})
    with pytest.raises(ClientError) as e:
        client.update_item(TableName=test_table_s.name, Key={"p": {"S": p}},
                           UpdateExpression="SET n = n + :x",
                           ExpressionAttributeValues={":x": {"N": big}})
    assert error_code(e) == "ValidationException"


# Arithmetic on a non-number or a missing attribute is a ValidationException.
@pytest.mark.parametrize("expr", ["SET s = s + :one", "SET n = absent_attr + :one"])
def test_update_arithmetic_bad_operand(test_table_s, expr):
    p = new_item(test_table_s, s="str", n=1)
    with pytest.raises(ClientError) as e:
        test_table_s.update_item(Key={"p": p}, UpdateExpression=expr,
                                 ExpressionAttributeValues={":one": 1})
    assert error_code(e) == "ValidationException"


# The `SET Likes = Likes + :n` the app sends, repeated, counts exactly.
def test_update_likes_counter(test_table_s):
    p = new_item(test_table_s, Likes=0)
    for _ in range(10):
        test_table_s.update_item(Key={"p": p}, UpdateExpression="SET Likes = Likes + :n",
                                 ExpressionAttributeValues={":n": 1})
    assert get(test_table_s, p)["Likes"] == 10


# ReturnValues of each kind return what DynamoDB documents.
@pytest.mark.parametrize("rv,expected", [
    ("NONE", None),
    ("ALL_OLD", {"a": 1, "b": 2}),
    ("UPDATED_OLD", {"a": 1}),
    ("ALL_NEW", {"a": 5, "b": 2, "c": 3}),
    ("UPDATED_NEW", {"a": 5, "c": 3}),
])
def test_update_return_values(test_table_s, rv, expected):
    p = new_item(test_table_s, a=1, b=2)
    r = test_table_s.update_item(Key={"p": p}, UpdateExpression="SET a = :a, c = :c",
                                 ExpressionAttributeValues={":a": 5, ":c": 3}, ReturnValues=rv)
    if expected is None:
        assert "Attributes" not in r
    else:
        if rv.startswith("ALL"):
            expected = {"p": p, **expected}
        assert r["Attributes"] == expected


# UPDATED_OLD / UPDATED_NEW hold only what the update's paths name: a nested SET or REMOVE
# gives the changed fragment inside its parents (list elements renumbered), not the whole
# attribute; a REMOVE has nothing for UPDATED_NEW.
def test_update_return_values_nested(test_table_s):
    p = new_item(test_table_s, a={"b": "dog", "c": [1, 2, 3]}, d="cat")
    upd = lambda expr, rv, values=None: test_table_s.update_item(
        Key={"p": p}, UpdateExpression=expr, ReturnValues=rv,
        **({"ExpressionAttributeValues": values} if values else {}))
    assert upd("SET a.b = :v", "UPDATED_OLD", {":v": "hi"})["Attributes"] == {"a": {"b": "dog"}}
    assert upd("SET a.b = :v", "UPDATED_NEW", {":v": "yo"})["Attributes"] == {"a": {"b": "yo"}}
    assert upd("SET a.c[1] = :v", "UPDATED_OLD", {":v": 20})["Attributes"] == {"a": {"c": [2]}}
    assert upd("SET a.c[2] = :v", "UPDATED_NEW", {":v": 30})["Attributes"] == {"a": {"c": [30]}}
    assert upd("SET a.b = :v, d = :w", "UPDATED_NEW", {":v": "x", ":w": "y"})["Attributes"] == {
        "a": {"b": "x"}, "d": "y"}
    assert upd("REMOVE a.c[0]", "UPDATED_OLD")["Attributes"] == {"a": {"c": [1]}}
    assert "Attributes" not in upd("REMOVE d", "UPDATED_NEW")
    assert get(test_table_s, p) == {"p": p, "a": {"b": "x", "c": [20, 30]}}


# Numbers an update writes are stored and returned in canonical form too.
def test_update_number_canonical_form(client, test_table_s):
    p = {"S": random_string()}
    r = client.update_item(TableName=test_table_s.name, Key={"p": p},
                           UpdateExpression="SET a = :a, b = :b ADD s :s",
                           ExpressionAttributeValues={":a": {"N": "1.50"}, ":b": {"N": "2E3"},
                                                      ":s": {"NS": ["0.10", "-0"]}},
                           ReturnValues="ALL_NEW")
    assert r["Attributes"]["a"] == {"N": "1.5"} and r["Attributes"]["b"] == {"N": "2000"}
    assert sorted(r["Attributes"]["s"]["NS"]) == ["0", "0.1"]
    item = client.get_item(TableName=test_table_s.name, Key={"p": p}, ConsistentRead=True)["Item"]
    assert item == r["Attributes"]


# An update cannot build an item nested deeper than 32 levels out of shallower parts.
def test_update_nesting_limit(client, test_table_s):
    value = {"S": "x"}
    for _ in range(30):
        value = {"M": {"a": value}}  # 31 levels
    p = {"S": random_string()}
    client.update_item(TableName=test_table_s.name, Key={"p": p}, UpdateExpression="SET m = :v",
                       ExpressionAttributeValues={":v": value})
    n = {"M": {"x": {"M": {}}}}
    client.update_item(TableName=test_table_s.name, Key={"p": p}, UpdateExpression="SET n = :n",
                       ExpressionAttributeValues={":n": n})
    client.update_item(TableName=test_table_s.name, Key={"p": p},  # n, then 31: 32 levels
                       UpdateExpression="SET n.y = :v", ExpressionAttributeValues={":v": value})
    with pytest.raises(ClientError) as e:  # n, x, then 31: 33 levels
        client.update_item(TableName=test_table_s.name, Key={"p": p},
                           UpdateExpression="SET n.x.deeper = :v",
                           ExpressionAttributeValues={":v": value})
    assert error_code(e) == "ValidationException"
    item = client.get_item(TableName=test_table_s.name, Key={"p": p}, ConsistentRead=True)["Item"]
    assert item == {"p": p, "m": value, "n": {"M": {"x": {"M": {}}, "y": value}}}


# Key attributes cannot be updated.
def test_update_key_attribute(test_table_s):
    p = new_item(test_table_s)
    with pytest.raises(ClientError) as e:
        test_table_s.update_item(Key={"p": p}, UpdateExpression="SET p = :v",
                                 ExpressionAttributeValues={":v": "other"})
    assert error_code(e) == "ValidationException"


# Malformed and conflicting expressions, and unused or missing placeholders, are
# ValidationExceptions.
@pytest.mark.parametrize("expr,names,values", [
    ("SET", None, None),
    ("SET a = ", None, {":v": 1}),
    ("SET a = :v SET b = :v", None, {":v": 1}),
    ("SET a = :v REMOVE a", None, {":v": 1}),
    ("SET a.b = :v, a = :v", None, {":v": 1}),
    ("SET a = :v", None, {":v": 1, ":unused": 2}),
    ("SET a = :missing", None, {":v": 1}),
    ("SET #n = :v", {"#n": "a", "#unused": "b"}, {":v": 1}),
    ("SET #missing = :v", None, {":v": 1}),
    ("DELETE a :v", None, {":v": 1}),
    ("FROB a", None, None),
    ("SET a = :v + :v + :v", None, {":v": 1}),
])
def test_update_expression_errors(test_table_s, expr, names, values):
    kwargs = {"Key": {"p": random_string()}, "UpdateExpression": expr}
    if names:
        kwargs["ExpressionAttributeNames"] = names
    if values:
        kwargs["ExpressionAttributeValues"] = values
    with pytest.raises(ClientError) as e:
        test_table_s.update_item(**kwargs)
    assert error_code(e) == "ValidationException"


# Legacy AttributeUpdates is tested in test_legacy.py; mixing it with UpdateExpression is an error.
def test_update_expression_and_attribute_updates(test_table_s):
    with pytest.raises(ClientError) as e:
        test_table_s.update_item(Key={"p": random_string()}, UpdateExpression="SET a = :v",
                                 ExpressionAttributeValues={":v": 1},
                                 AttributeUpdates={"b": {"Value": 1, "Action": "PUT"}})
    assert error_code(e) == "ValidationException"

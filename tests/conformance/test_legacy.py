# The legacy (pre-expression) parameters real code still sends: KeyConditions, QueryFilter,
# ScanFilter, Expected, AttributeUpdates, AttributesToGet, ConditionalOperator (issue 2; the
# original Mysfits service queries its GSIs with KeyConditions).
import pytest
from botocore.exceptions import ClientError

from util import error_code, full_query, full_scan, random_string


@pytest.fixture(scope="module")
def partition(test_table_sn):
    p = random_string()
    with test_table_sn.batch_writer() as w:
        for i in range(10):
            w.put_item(Item={"p": p, "c": i, "tag": "even" if i % 2 == 0 else "odd",
                             "s": f"str{i}", "set": {f"m{i}", "all"}})
    return p


def query_c(table, p, sort_condition=None, **kwargs):
    conditions = {"p": {"AttributeValueList": [p], "ComparisonOperator": "EQ"}}
    if sort_condition:
        conditions["c"] = sort_condition
    return [i["c"] for i in full_query(table, KeyConditions=conditions, **kwargs)]


# KeyConditions with each sort-key operator DynamoDB allows there.
@pytest.mark.parametrize("op,values,expected", [
    ("EQ", [3], [3]), ("LT", [3], [0, 1, 2]), ("LE", [3], [0, 1, 2, 3]),
    ("GT", [7], [8, 9]), ("GE", [7], [7, 8, 9]), ("BETWEEN", [2, 4], [2, 3, 4]),
])
def test_key_conditions(test_table_sn, partition, op, values, expected):
    assert query_c(test_table_sn, partition,
                   {"AttributeValueList": values, "ComparisonOperator": op}) == expected


# KeyConditions with only the hash key returns the partition in order.
def test_key_conditions_hash_only(test_table_sn, partition):
    assert query_c(test_table_sn, partition) == list(range(10))


# An operator not allowed in key conditions (NE) is a ValidationException.
def test_key_conditions_bad_operator(test_table_sn, partition):
    with pytest.raises(ClientError) as e:
        query_c(test_table_sn, partition, {"AttributeValueList": [1], "ComparisonOperator": "NE"})
    assert error_code(e) == "ValidationException"


# QueryFilter with several conditions and ConditionalOperator.
def test_query_filter(test_table_sn, partition):
    f = {"tag": {"AttributeValueList": ["odd"], "ComparisonOperator": "EQ"},
         "s": {"AttributeValueList": ["str5"], "ComparisonOperator": "GT"}}
    assert query_c(test_table_sn, partition, QueryFilter=f) == [7, 9]
    assert query_c(test_table_sn, partition, QueryFilter=f, ConditionalOperator="OR") == [
        1, 3, 5, 6, 7, 8, 9]


# ScanFilter with each non-key operator.
@pytest.mark.parametrize("attr,op,values,expected", [
    ("tag", "NE", ["odd"], [0, 2, 4, 6, 8]),
    ("s", "BEGINS_WITH", ["str1"], [1]),
    ("s", "IN", ["str1", "str3"], [1, 3]),
    ("set", "CONTAINS", ["m4"], [4]),
    ("set", "NOT_CONTAINS", ["m4"], [0, 1, 2, 3, 5, 6, 7, 8, 9]),
    ("s", "NOT_NULL", [], list(range(10))),
    ("nothing_here", "NULL", [], list(range(10))),
    ("s", "BETWEEN", ["str2", "str4"], [2, 3, 4]),
    ("s", "LT", ["str2"], [0, 1]),
])
def test_scan_filter(test_table_sn, partition, attr, op, values, expected):
    got = full_scan(test_table_sn, ScanFilter={
        "p": {"AttributeValueList": [partition], "ComparisonOperator": "EQ"},
        attr: {"AttributeValueList": values, "ComparisonOperator": op} if values else
        {"ComparisonOperator": op}})
    assert sorted(i["c"] for i in got) == expected


# AttributesToGet on Query and Scan.
def test_attributes_to_get(test_table_sn, partition):
    got = full_query(test_table_sn, KeyConditions={
        "p": {"AttributeValueList": [partition], "ComparisonOperator": "EQ"}},
        AttributesToGet=["tag"])
    assert got[0] == {"tag": "even"} and len(got) == 10


# Expected: Value (implies Exists), Exists=False, ComparisonOperator, ConditionalOperator.
def test_expected(test_table_s):
    p = random_string()
    test_table_s.put_item(Item={"p": p, "a": 1}, Expected={"p": {"Exists": False}})
    with pytest.raises(ClientError) as e:
        test_table_s.put_item(Item={"p": p, "a": 2}, Expected={"p": {"Exists": False}})
    assert error_code(e) == "ConditionalCheckFailedException"
    test_table_s.put_item(Item={"p": p, "a": 2}, Expected={"a": {"Value": 1}})
    with pytest.raises(ClientError) as e:
        test_table_s.put_item(Item={"p": p, "a": 3}, Expected={"a": {"Value": 1}})
    assert error_code(e) == "ConditionalCheckFailedException"
    test_table_s.put_item(Item={"p": p, "a": 3}, Expected={
        "a": {"ComparisonOperator": "GT", "AttributeValueList": [1]}})
    test_table_s.put_item(Item={"p": p, "a": 4}, ConditionalOperator="OR", Expected={
        "a": {"ComparisonOperator": "EQ", "AttributeValueList": [100]},
        "b": {"ComparisonOperator": "NULL"}})
    test_table_s.delete_item(Key={"p": p}, Expected={"a": {"Value": 4}})
    assert "Item" not in test_table_s.get_item(Key={"p": p}, ConsistentRead=True)


# Expected together with ConditionExpression is a ValidationException.
def test_expected_and_condition_expression(test_table_s):
    with pytest.raises(ClientError) as e:
        test_table_s.put_item(Item={"p": random_string()}, Expected={"p": {"Exists": False}},
                              ConditionExpression="attribute_not_exists(p)")
    assert error_code(e) == "ValidationException"


# AttributeUpdates: PUT, DELETE of an attribute, DELETE of set members, ADD to numbers and sets.
def test_attribute_updates(test_table_s):
    p = random_string()
    test_table_s.put_item(Item={"p": p, "gone": 1, "n": 5, "s": {"a", "b"}, "t": {"x"}})
    r = test_table_s.update_item(Key={"p": p}, ReturnValues="ALL_NEW", AttributeUpdates={
        "put": {"Action": "PUT", "Value": "v"},
        "gone": {"Action": "DELETE"},
        "n": {"Action": "ADD", "Value": 2},
        "fresh": {"Action": "ADD", "Value": 7},
        "s": {"Action": "DELETE", "Value": {"a"}},
        "t": {"Action": "ADD", "Value": {"y"}},
    })
    assert r["Attributes"] == {"p": p, "put": "v", "n": 7, "fresh": 7, "s": {"b"},
                               "t": {"x", "y"}}


# AttributeUpdates with Expected, as old SDKs send for optimistic locking.
def test_attribute_updates_with_expected(test_table_s):
    p = random_string()
    test_table_s.put_item(Item={"p": p, "version": 1})
    test_table_s.update_item(Key={"p": p}, Expected={"version": {"Value": 1}},
                             AttributeUpdates={"version": {"Action": "PUT", "Value": 2}})
    with pytest.raises(ClientError) as e:
        test_table_s.update_item(Key={"p": p}, Expected={"version": {"Value": 1}},
                                 AttributeUpdates={"version": {"Action": "PUT", "Value": 3}})
    assert error_code(e) == "ConditionalCheckFailedException"


# KeyConditions mixed with KeyConditionExpression is a ValidationException.
def test_key_conditions_and_expression(test_table_sn):
    with pytest.raises(ClientError) as e:
        test_table_sn.query(KeyConditionExpression="p = :p", ExpressionAttributeValues={":p": "x"},
                            KeyConditions={"p": {"AttributeValueList": ["x"],
                                                 "ComparisonOperator": "EQ"}})
    assert error_code(e) == "ValidationException"

# Query: key conditions (=, <, <=, >, >=, BETWEEN, begins_with), sort order of numbers, strings
# and binary, ScanIndexForward, Limit and pagination, Select COUNT, FilterExpression, projections,
# and queries on GSIs and LSIs with each projection type (issue 2).
from decimal import Decimal

import pytest
from boto3.dynamodb.conditions import Attr, Key
from botocore.exceptions import ClientError

import util
from util import error_code, full_query, random_string


@pytest.fixture(scope="module")
def numbers(test_table_sn):
    p = random_string()
    values = [Decimal(x) for x in ["-100", "-1.5", "0", "0.001", "1", "2", "10", "11", "100",
                                   "1E+20", "123456789012345678901234567890"]]
    with test_table_sn.batch_writer() as w:
        for v in values:
            w.put_item(Item={"p": p, "c": v, "odd": int(v) % 2 == 1 if v == int(v) else False})
    return p, sorted(values)


# Numbers sort numerically, not as strings.
def test_query_number_order(test_table_sn, numbers):
    p, values = numbers
    got = [i["c"] for i in full_query(test_table_sn, KeyConditionExpression=Key("p").eq(p))]
    assert got == values


# ScanIndexForward=False returns descending order.
def test_query_reverse(test_table_sn, numbers):
    p, values = numbers
    got = [i["c"] for i in full_query(test_table_sn, KeyConditionExpression=Key("p").eq(p),
                                      ScanIndexForward=False)]
    assert got == list(reversed(values))


# Strings sort by UTF-8 bytes: upper case before lower case, multi-byte characters last.
def test_query_string_order(test_table_ss):
    p = random_string()
    values = ["b", "a", "B", "A", "aa", "", "é", "z", "Z9", "0"]
    values.remove("")  # empty sort keys are not allowed
    for v in values:
        test_table_ss.put_item(Item={"p": p, "c": v})
    got = [i["c"] for i in full_query(test_table_ss, KeyConditionExpression=Key("p").eq(p))]
    assert got == sorted(values, key=lambda s: s.encode("utf-8"))


# Binary sorts as unsigned bytes.
def test_query_binary_order(test_table_sb):
    p = random_string()
    values = [b"\xff", b"\x00", b"\x7f", b"\x80", b"\x00\x01", b"\x01"]
    for v in values:
        test_table_sb.put_item(Item={"p": p, "c": v})
    got = [i["c"].value for i in full_query(test_table_sb, KeyConditionExpression=Key("p").eq(p))]
    assert got == sorted(values)


# Each sort-key comparator selects the documented range.
@pytest.mark.parametrize("cond,pred", [
    (lambda: Key("c").lt(1), lambda v: v < 1),
    (lambda: Key("c").lte(1), lambda v: v <= 1),
    (lambda: Key("c").gt(10), lambda v: v > 10),
    (lambda: Key("c").gte(10), lambda v: v >= 10),
    (lambda: Key("c").eq(2), lambda v: v == 2),
    (lambda: Key("c").between(Decimal("-1.5"), 10), lambda v: Decimal("-1.5") <= v <= 10),
])
def test_query_sort_key_conditions(test_table_sn, numbers, cond, pred):
    p, values = numbers
    got = [i["c"] for i in full_query(test_table_sn,
                                      KeyConditionExpression=Key("p").eq(p) & cond())]
    assert got == [v for v in values if pred(v)]


# begins_with on a string sort key.
def test_query_begins_with(test_table_ss):
    p = random_string()
    for c in ["app", "apple", "apricot", "banana", "ap"]:
        test_table_ss.put_item(Item={"p": p, "c": c})
    got = [i["c"] for i in full_query(test_table_ss, KeyConditionExpression=Key("p").eq(p) &
                                      Key("c").begins_with("app"))]
    assert got == ["app", "apple"]


# begins_with on a binary sort key.
def test_query_begins_with_binary(test_table_sb):
    p = random_string()
    for c in [b"\x01\x02", b"\x01\x03", b"\x02"]:
        test_table_sb.put_item(Item={"p": p, "c": c})
    got = full_query(test_table_sb, KeyConditionExpression=Key("p").eq(p) &
                     Key("c").begins_with(b"\x01"))
    assert [i["c"].value for i in got] == [b"\x01\x02", b"\x01\x03"]


# begins_with on a number sort key is a ValidationException.
def test_query_begins_with_number(test_table_sn):
    with pytest.raises(ClientError) as e:
        test_table_sn.query(KeyConditionExpression="p = :p AND begins_with(c, :c)",
                            ExpressionAttributeValues={":p": "x", ":c": 1})
    assert error_code(e) == "ValidationException"


# Limit pages through the partition: every page is at most Limit items and all come back once.
def test_query_limit_pagination(test_table_sn, numbers):
    p, values = numbers
    kwargs = {"KeyConditionExpression": Key("p").eq(p), "Limit": 3}
    got, pages = [], 0
    while True:
        page = test_table_sn.query(**kwargs)
        assert len(page["Items"]) <= 3
        got += [i["c"] for i in page["Items"]]
        pages += 1
        if "LastEvaluatedKey" not in page:
            break
        kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]
    assert got == values and pages >= 4


# Select=COUNT returns Count without Items; with a filter, ScannedCount counts before it.
def test_query_select_count(test_table_sn, numbers):
    p, values = numbers
    r = test_table_sn.query(KeyConditionExpression=Key("p").eq(p), Select="COUNT")
    assert r["Count"] == len(values) and "Items" not in r
    r = test_table_sn.query(KeyConditionExpression=Key("p").eq(p), Select="COUNT",
                            FilterExpression=Attr("odd").eq(True))
    assert r["Count"] == 2 and r["ScannedCount"] == len(values)
    # With a ProjectionExpression, Select may only be SPECIFIC_ATTRIBUTES.
    with pytest.raises(ClientError) as e:
        test_table_sn.query(KeyConditionExpression=Key("p").eq(p), Select="COUNT",
                            ProjectionExpression="odd")
    assert error_code(e) == "ValidationException"


# ExclusiveStartKey names exactly the key attributes, and on Query lies inside the key
# condition: a cursor with other attributes, from another partition or outside the sort-key
# range is a ValidationException, not a silent restart (or an empty page).
def test_query_exclusive_start_key_errors(test_table_sn, numbers):
    p, values = numbers
    r = test_table_sn.query(KeyConditionExpression=Key("p").eq(p),
                            ExclusiveStartKey={"p": p, "c": values[0]})
    assert [i["c"] for i in r["Items"]] == values[1:]
    bad = [
        (Key("p").eq(p), {"p": p}),
        (Key("p").eq(p), {"p": p, "c": values[0], "odd": False}),
        (Key("p").eq(p), {"p": "other" + p, "c": values[0]}),
        (Key("p").eq(p) & Key("c").gt(10), {"p": p, "c": 5}),
    ]
    for cond, esk in bad:
        with pytest.raises(ClientError) as e:
            test_table_sn.query(KeyConditionExpression=cond, ExclusiveStartKey=esk)
        assert error_code(e) == "ValidationException"
    with pytest.raises(ClientError) as e:
        test_table_sn.scan(ExclusiveStartKey={"p": p, "c": values[0], "odd": False})
    assert error_code(e) == "ValidationException"


# FilterExpression drops items after reading; Limit counts items read, not returned.
def test_query_filter(test_table_sn, numbers):
    p, values = numbers
    got = full_query(test_table_sn, KeyConditionExpression=Key("p").eq(p),
                     FilterExpression=Attr("odd").eq(True))
    assert [i["c"] for i in got] == [1, 11]
    r = test_table_sn.query(KeyConditionExpression=Key("p").eq(p), Limit=2,
                            FilterExpression=Attr("odd").eq(True))
    assert r["ScannedCount"] == 2 and "LastEvaluatedKey" in r


# A filter on a key attribute is rejected (key conditions belong in KeyConditionExpression).
def test_query_filter_on_key(test_table_sn):
    with pytest.raises(ClientError) as e:
        test_table_sn.query(KeyConditionExpression=Key("p").eq("x"),
                            FilterExpression=Attr("c").eq(1))
    assert error_code(e) == "ValidationException"


# ProjectionExpression limits the attributes returned.
def test_query_projection(test_table_sn, numbers):
    p, _ = numbers
    got = test_table_sn.query(KeyConditionExpression=Key("p").eq(p), ProjectionExpression="c",
                              Limit=1)["Items"]
    assert list(got[0].keys()) == ["c"]


# Key conditions must name the hash key with '=', and only key attributes.
@pytest.mark.parametrize("expr,values", [
    ("c = :c", {":c": 1}),
    ("p < :p", {":p": "x"}),
    ("p = :p AND other = :c", {":p": "x", ":c": 1}),
    ("p = :p OR c = :c", {":p": "x", ":c": 1}),
    ("p = :p AND c = :c AND c = :c", {":p": "x", ":c": 1}),
    ("p = :p", {":p": 1}),
])
def test_query_bad_key_condition(test_table_sn, expr, values):
    with pytest.raises(ClientError) as e:
        test_table_sn.query(KeyConditionExpression=expr, ExpressionAttributeValues=values)
    assert error_code(e) == "ValidationException"


# Query of a partition with no items returns an empty page, not an error.
def test_query_empty_partition(test_table_sn):
    r = test_table_sn.query(KeyConditionExpression=Key("p").eq(random_string()))
    assert r["Items"] == [] and r["Count"] == 0 and "LastEvaluatedKey" not in r


# A page stops at 1 MB of data even without Limit; paging still returns every item.
def test_query_one_megabyte_pages(test_table_sn):
    p = random_string()
    with test_table_sn.batch_writer() as w:
        for i in range(30):
            w.put_item(Item={"p": p, "c": i, "blob": "x" * 100_000})
    first = test_table_sn.query(KeyConditionExpression=Key("p").eq(p))
    assert "LastEvaluatedKey" in first and len(first["Items"]) < 30
    got = full_query(test_table_sn, KeyConditionExpression=Key("p").eq(p),
                     ProjectionExpression="c")
    assert [i["c"] for i in got] == list(range(30))


@pytest.fixture(scope="module")
def indexed_table(dynamodb):
    """Table (p, c) with GSIs of each projection kind and an LSI."""
    table = util.create_test_table(
        dynamodb,
        [{"AttributeName": "p", "KeyType": "HASH"}, {"AttributeName": "c", "KeyType": "RANGE"}],
        [{"AttributeName": "p", "AttributeType": "S"}, {"AttributeName": "c", "AttributeType": "S"},
         {"AttributeName": "g", "AttributeType": "S"}, {"AttributeName": "n", "AttributeType": "N"}],
        GlobalSecondaryIndexes=[
            {"IndexName": "all", "KeySchema": [{"AttributeName": "g", "KeyType": "HASH"},
                                                {"AttributeName": "n", "KeyType": "RANGE"}],
             "Projection": {"ProjectionType": "ALL"}},
            {"IndexName": "keys", "KeySchema": [{"AttributeName": "g", "KeyType": "HASH"}],
             "Projection": {"ProjectionType": "KEYS_ONLY"}},
            {"IndexName": "include", "KeySchema": [{"AttributeName": "g", "KeyType": "HASH"}],
             "Projection": {"ProjectionType": "INCLUDE", "NonKeyAttributes": ["x"]}},
        ],
        LocalSecondaryIndexes=[
            {"IndexName": "local", "KeySchema": [{"AttributeName": "p", "KeyType": "HASH"},
                                                  {"AttributeName": "n", "KeyType": "RANGE"}],
             "Projection": {"ProjectionType": "ALL"}},
            {"IndexName": "local_keys", "KeySchema": [{"AttributeName": "p", "KeyType": "HASH"},
                                                       {"AttributeName": "g", "KeyType": "RANGE"}],
             "Projection": {"ProjectionType": "KEYS_ONLY"}},
        ])
    yield table
    util.delete_table_quietly(table)


def put_indexed(table):
    g, p = random_string(), random_string()
    items = [{"p": p, "c": f"c{i}", "g": g, "n": 10 - i, "x": i, "y": -i} for i in range(5)]
    items.append({"p": p, "c": "nog", "x": 99})  # no index key: absent from the GSIs
    with table.batch_writer() as w:
        for it in items:
            w.put_item(Item=it)
    return g, p, items


# A GSI query finds items by the index key, sorted by the index's sort key; items without the
# index key are not in the index.
def test_query_gsi_all(indexed_table):
    g, _, items = put_indexed(indexed_table)
    got = full_query(indexed_table, IndexName="all", KeyConditionExpression=Key("g").eq(g))
    assert got == sorted(items[:5], key=lambda i: i["n"])
    got = full_query(indexed_table, IndexName="all",
                     KeyConditionExpression=Key("g").eq(g) & Key("n").between(7, 8))
    assert [i["n"] for i in got] == [7, 8]


# A KEYS_ONLY index returns the table and index keys only.
def test_query_gsi_keys_only(indexed_table):
    g, p, _ = put_indexed(indexed_table)
    got = full_query(indexed_table, IndexName="keys", KeyConditionExpression=Key("g").eq(g))
    assert sorted(got, key=lambda i: i["c"]) == [{"p": p, "c": f"c{i}", "g": g} for i in range(5)]


# An INCLUDE index returns the keys plus the listed attributes.
def test_query_gsi_include(indexed_table):
    g, p, _ = put_indexed(indexed_table)
    got = full_query(indexed_table, IndexName="include", KeyConditionExpression=Key("g").eq(g))
    assert sorted(got, key=lambda i: i["c"]) == [
        {"p": p, "c": f"c{i}", "g": g, "x": i} for i in range(5)]


# GSI entries follow updates and deletes of the base item.
def test_query_gsi_follows_writes(indexed_table):
    g, p, _ = put_indexed(indexed_table)
    g2 = random_string()
    indexed_table.update_item(Key={"p": p, "c": "c0"}, UpdateExpression="SET g = :g",
                              ExpressionAttributeValues={":g": g2})
    indexed_table.delete_item(Key={"p": p, "c": "c1"})
    indexed_table.update_item(Key={"p": p, "c": "c2"}, UpdateExpression="REMOVE g")
    got = full_query(indexed_table, IndexName="all", KeyConditionExpression=Key("g").eq(g))
    assert sorted(i["c"] for i in got) == ["c3", "c4"]
    got = full_query(indexed_table, IndexName="all", KeyConditionExpression=Key("g").eq(g2))
    assert [i["c"] for i in got] == ["c0"]


# An LSI orders one partition by another attribute.
def test_query_lsi(indexed_table):
    _, p, _ = put_indexed(indexed_table)
    got = full_query(indexed_table, IndexName="local", KeyConditionExpression=Key("p").eq(p),
                     ScanIndexForward=False)
    assert [i["n"] for i in got] == [10, 9, 8, 7, 6]


# An LSI fetches from the table what it does not project: a ProjectionExpression or a filter
# naming such an attribute sees the table's item; without a projection the answer keeps the
# index's attributes, unless Select is ALL_ATTRIBUTES.
def test_query_lsi_fetches_unprojected(indexed_table):
    _, p, items = put_indexed(indexed_table)
    q = lambda **kw: sorted(full_query(indexed_table, IndexName="local_keys",
                                       KeyConditionExpression=Key("p").eq(p), **kw),
                            key=lambda i: sorted(i.items()))
    assert q(ProjectionExpression="c, x") == [{"c": f"c{i}", "x": i} for i in range(5)]
    keys = [{"p": p, "c": f"c{i}", "g": items[i]["g"]} for i in range(5)]
    assert q(FilterExpression=Attr("y").lt(-2)) == keys[3:]
    assert q(Select="ALL_ATTRIBUTES", FilterExpression=Attr("x").eq(1)) == [items[1]]
    assert q(ProjectionExpression="y", FilterExpression=Attr("x").gte(3)) == [{"y": -4}, {"y": -3}]


# ConsistentRead is not allowed on a GSI; an unknown index is a ValidationException.
def test_query_gsi_errors(indexed_table):
    with pytest.raises(ClientError) as e:
        indexed_table.query(IndexName="all", KeyConditionExpression=Key("g").eq("x"),
                            ConsistentRead=True)
    assert error_code(e) == "ValidationException"
    with pytest.raises(ClientError) as e:
        indexed_table.query(IndexName="no_such_index", KeyConditionExpression=Key("g").eq("x"))
    assert error_code(e) == "ValidationException"


# Pagination on a GSI with Limit returns every item exactly once.
def test_query_gsi_pagination(indexed_table):
    g, _, items = put_indexed(indexed_table)
    got = full_query(indexed_table, IndexName="all", KeyConditionExpression=Key("g").eq(g),
                     Limit=2)
    assert [i["n"] for i in got] == [6, 7, 8, 9, 10]


# Query on a missing table is ResourceNotFoundException.
def test_query_missing_table(dynamodb):
    with pytest.raises(ClientError) as e:
        dynamodb.Table("mysfits_no_such_" + random_string()).query(
            KeyConditionExpression=Key("p").eq("x"))
    assert error_code(e) == "ResourceNotFoundException"

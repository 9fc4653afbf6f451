# ReturnConsumedCapacity (issue 3's Streams brief, item 4): DynamoDB's capacity-unit arithmetic on
# item, batch, query and scan operations — reads in 4 KB units (eventually consistent reads count
# half), writes in 1 KB units of the larger of the old and new item, at least one unit, and each
# index's share under INDEXES. Item sizes here are attribute-name bytes + string bytes.
import pytest
from botocore.exceptions import ClientError

import util
from util import error_code, random_string

KB = 1024


def units(response):
    return response["ConsumedCapacity"]["CapacityUnits"]


def sized_item(p, total):
    """An item {'p': p, 'v': 'aaa…'} of exactly `total` bytes."""
    return {"p": p, "v": "a" * (total - len("p") - len(p) - len("v"))}


# GetItem: 1 unit per 4 KB when consistent, half otherwise; a missing item counts as empty.
def test_get_item(test_table_s):
    p = random_string()
    test_table_s.put_item(Item=sized_item(p, 4 * KB))
    get = lambda key, consistent: units(test_table_s.get_item(
        Key={"p": key}, ConsistentRead=consistent, ReturnConsumedCapacity="TOTAL"))
    assert get(p, True) == 1 and get(p, False) == 0.5
    test_table_s.put_item(Item=sized_item(p, 4 * KB + 1))
    assert get(p, True) == 2 and get(p, False) == 1
    missing = random_string()
    assert get(missing, True) == 1 and get(missing, False) == 0.5
    r = test_table_s.get_item(Key={"p": p}, ReturnConsumedCapacity="TOTAL")
    assert r["ConsumedCapacity"]["TableName"] == test_table_s.name
    assert "ConsumedCapacity" not in test_table_s.get_item(Key={"p": p})
    assert "ConsumedCapacity" not in test_table_s.get_item(Key={"p": p},
                                                           ReturnConsumedCapacity="NONE")


# PutItem / UpdateItem / DeleteItem: 1 KB units of the larger of the item before and after.
def test_writes(test_table_s):
    p = random_string()
    put = lambda size: units(test_table_s.put_item(Item=sized_item(p, size),
                                                   ReturnConsumedCapacity="TOTAL"))
    assert put(KB) == 1
    assert put(KB + 1) == 2
    assert put(3 * KB) == 3
    assert put(10) == 3  # the old 3 KB item counts
    r = test_table_s.update_item(Key={"p": p}, UpdateExpression="SET v = :v",
                                 ExpressionAttributeValues={":v": "a" * (2 * KB)},
                                 ReturnConsumedCapacity="TOTAL")
    assert units(r) == 3
    assert units(test_table_s.delete_item(Key={"p": p}, ReturnConsumedCapacity="TOTAL")) == 3
    assert units(test_table_s.delete_item(Key={"p": p}, ReturnConsumedCapacity="TOTAL")) == 1


# An unknown ReturnConsumedCapacity value is a ValidationException.
def test_invalid_value(test_table_s):
    with pytest.raises(ClientError) as e:
        test_table_s.get_item(Key={"p": "x"}, ReturnConsumedCapacity="EVERYTHING")
    assert error_code(e) == "ValidationException"


# Query and Scan add up every item read (before any filter) and round the sum up to 4 KB.
def test_query_and_scan(dynamodb, test_table_ss):
    p = random_string()
    for c in ("a", "b", "c"):
        test_table_ss.put_item(Item={"p": p, "c": c, "v": "a" * (2 * KB)})
    q = lambda consistent, **kw: units(test_table_ss.query(
        KeyConditionExpression="p = :p", ExpressionAttributeValues={":p": p},
        ConsistentRead=consistent, ReturnConsumedCapacity="TOTAL", **kw))
    assert q(True) == 2 and q(False) == 1  # ~6 KB
    assert q(True, Limit=1) == 1
    table = util.create_test_table(dynamodb, [{"AttributeName": "p", "KeyType": "HASH"}],
                                   [{"AttributeName": "p", "AttributeType": "S"}])
    try:
        for n in range(3):
            table.put_item(Item=sized_item(f"k{n}", 3 * KB))
        r = table.scan(ConsistentRead=True, ReturnConsumedCapacity="TOTAL",
                       FilterExpression="p = :none", ExpressionAttributeValues={":none": "x"})
        assert r["Count"] == 0 and units(r) == 3  # 9 KB read, although nothing matched
        assert units(table.scan(ReturnConsumedCapacity="TOTAL")) == 1.5
    finally:
        util.delete_table_quietly(table)


# BatchGetItem and BatchWriteItem give one entry per table, each item counted on its own.
def test_batches(test_table_s, test_table_ss):
    keys_s = [random_string() for _ in range(5)]
    keys_ss = [random_string() for _ in range(3)]
    client = test_table_s.meta.client
    writes = {test_table_s.name: [{"PutRequest": {"Item": {"p": k}}} for k in keys_s[:4]] +
              [{"PutRequest": {"Item": sized_item(keys_s[4], 2 * KB)}}],
              test_table_ss.name: [{"PutRequest": {"Item": {"p": k, "c": "c"}}} for k in keys_ss]}
    r = client.batch_write_item(RequestItems=writes, ReturnConsumedCapacity="TOTAL")
    by_table = {c["TableName"]: c["CapacityUnits"] for c in r["ConsumedCapacity"]}
    assert by_table == {test_table_s.name: 6, test_table_ss.name: 3}
    r = client.batch_get_item(RequestItems={
        test_table_s.name: {"Keys": [{"p": k} for k in keys_s], "ConsistentRead": True},
        test_table_ss.name: {"Keys": [{"p": k, "c": "c"} for k in keys_ss]}},
        ReturnConsumedCapacity="TOTAL")
    by_table = {c["TableName"]: c["CapacityUnits"] for c in r["ConsumedCapacity"]}
    assert by_table == {test_table_s.name: 5, test_table_ss.name: 1.5}


# INDEXES splits the units between the table and each secondary index.
def test_indexes(dynamodb):
    table = util.create_test_table(
        dynamodb, [{"AttributeName": "p", "KeyType": "HASH"}],
        [{"AttributeName": "p", "AttributeType": "S"},
         {"AttributeName": "g", "AttributeType": "S"}],
        GlobalSecondaryIndexes=[{"IndexName": "ByG",
                                 "KeySchema": [{"AttributeName": "g", "KeyType": "HASH"}],
                                 "Projection": {"ProjectionType": "KEYS_ONLY"}}])
    try:
        r = table.put_item(Item={"p": "a", "g": "x"}, ReturnConsumedCapacity="INDEXES")
        cc = r["ConsumedCapacity"]
        assert cc["CapacityUnits"] == 2 and cc["Table"]["CapacityUnits"] == 1
        assert cc["GlobalSecondaryIndexes"]["ByG"]["CapacityUnits"] == 1
        # Changing the index key deletes one entry and adds another.
        r = table.put_item(Item={"p": "a", "g": "y"}, ReturnConsumedCapacity="INDEXES")
        assert r["ConsumedCapacity"]["GlobalSecondaryIndexes"]["ByG"]["CapacityUnits"] == 2
        assert r["ConsumedCapacity"]["CapacityUnits"] == 3
        # An item without the index key does not touch the index.
        r = table.put_item(Item={"p": "b"}, ReturnConsumedCapacity="INDEXES")
        assert r["ConsumedCapacity"]["CapacityUnits"] == 1
        assert "ByG" not in r["ConsumedCapacity"].get("GlobalSecondaryIndexes", {})
        r = table.put_item(Item={"p": "c", "g": "z"}, ReturnConsumedCapacity="TOTAL")
        assert r["ConsumedCapacity"]["CapacityUnits"] == 2
        assert "Table" not in r["ConsumedCapacity"]  # TOTAL: no per-index split
        # A query of the index is charged to the index.
        r = table.query(IndexName="ByG", KeyConditionExpression="g = :g",
                        ExpressionAttributeValues={":g": "y"}, ReturnConsumedCapacity="INDEXES")
        assert r["ConsumedCapacity"]["GlobalSecondaryIndexes"]["ByG"]["CapacityUnits"] == 0.5
        assert r["ConsumedCapacity"]["CapacityUnits"] == 0.5
    finally:
        util.delete_table_quietly(table)


# A query of a local secondary index that needs attributes the index does not project fetches
# them from the table, and each fetch is a table read of its own, in 4 KB units of the item.
def test_lsi_fetch_counts_table_reads(dynamodb):
    table = util.create_test_table(
        dynamodb, [{"AttributeName": "p", "KeyType": "HASH"},
                   {"AttributeName": "c", "KeyType": "RANGE"}],
        [{"AttributeName": "p", "AttributeType": "S"},
         {"AttributeName": "c", "AttributeType": "S"},
         {"AttributeName": "s", "AttributeType": "S"}],
        LocalSecondaryIndexes=[{"IndexName": "ByS",
                                "KeySchema": [{"AttributeName": "p", "KeyType": "HASH"},
                                              {"AttributeName": "s", "KeyType": "RANGE"}],
                                "Projection": {"ProjectionType": "KEYS_ONLY"}}])
    try:
        for c in ("c1", "c2"):  # each item ~10 KB: three 4 KB units
            table.put_item(Item={"p": "a", "c": c, "s": "s" + c, "big": "x" * 10_000})
        query = dict(IndexName="ByS", KeyConditionExpression="p = :p",
                     ExpressionAttributeValues={":p": "a"}, ReturnConsumedCapacity="INDEXES")
        # Keys only: the index alone, 0.5 units (eventually consistent).
        r = table.query(**query)
        assert r["ConsumedCapacity"]["CapacityUnits"] == 0.5
        assert r["ConsumedCapacity"].get("Table", {}).get("CapacityUnits", 0) == 0
        # Every attribute: the index read plus two fetches of 3 units, halved.
        r = table.query(Select="ALL_ATTRIBUTES", **query)
        assert len(r["Items"]) == 2 and all(len(i["big"]) == 10_000 for i in r["Items"])
        cc = r["ConsumedCapacity"]
        assert cc["LocalSecondaryIndexes"]["ByS"]["CapacityUnits"] == 0.5
        assert cc["Table"]["CapacityUnits"] == 3.0
        assert cc["CapacityUnits"] == 3.5
    finally:
        util.delete_table_quietly(table)

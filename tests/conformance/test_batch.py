# BatchGetItem and BatchWriteItem: multi-table batches, UnprocessedKeys / UnprocessedItems, the
# 100-key and 25-request limits, duplicate keys rejected, projections (issue 2).
import json

import pytest
from botocore.exceptions import ClientError

from util import error_code, error_type, random_string, raw_request


def batch_get_all(dynamodb, request):
    """BatchGetItem, resubmitting UnprocessedKeys, as DynamoDB's docs ask callers to do."""
    got = {}
    for _ in range(50):
        r = dynamodb.batch_get_item(RequestItems=request)
        for table, items in r["Responses"].items():
            got.setdefault(table, []).extend(items)
        request = r.get("UnprocessedKeys") or {}
        if not request:
            return got
    raise AssertionError("UnprocessedKeys never drained")


# 25 puts in one BatchWriteItem all land; 100 keys in one BatchGetItem all come back.
def test_batch_write_then_get(dynamodb, test_table_s):
    p = random_string()
    keys = [f"{p}-{i}" for i in range(100)]
    for start in range(0, 100, 25):
        r = dynamodb.batch_write_item(RequestItems={test_table_s.name: [
            {"PutRequest": {"Item": {"p": k, "v": i}}}
            for i, k in enumerate(keys[start:start + 25], start)]})
        assert r["UnprocessedItems"] == {}
    got = batch_get_all(dynamodb, {test_table_s.name: {"Keys": [{"p": k} for k in keys],
                                                        "ConsistentRead": True}})
    assert sorted(i["v"] for i in got[test_table_s.name]) == list(range(100))


# Batches span tables; missing keys are simply absent; deletes and puts mix.
def test_batch_multiple_tables(dynamodb, test_table_s, test_table_sn):
    p = random_string()
    test_table_s.put_item(Item={"p": p + "-old"})
    dynamodb.batch_write_item(RequestItems={
        test_table_s.name: [{"PutRequest": {"Item": {"p": p, "a": 1}}},
                            {"DeleteRequest": {"Key": {"p": p + "-old"}}}],
        test_table_sn.name: [{"PutRequest": {"Item": {"p": p, "c": 1, "b": 2}}}]})
    got = batch_get_all(dynamodb, {
        test_table_s.name: {"Keys": [{"p": p}, {"p": p + "-old"}, {"p": p + "-never"}]},
        test_table_sn.name: {"Keys": [{"p": p, "c": 1}]}})
    assert got[test_table_s.name] == [{"p": p, "a": 1}]
    assert got[test_table_sn.name] == [{"p": p, "c": 1, "b": 2}]


# BatchGetItem honours ProjectionExpression per table.
def test_batch_get_projection(dynamodb, test_table_s):
    p = random_string()
    test_table_s.put_item(Item={"p": p, "a": 1, "b": 2})
    got = batch_get_all(dynamodb, {test_table_s.name: {"Keys": [{"p": p}],
                                                        "ProjectionExpression": "b"}})
    assert got[test_table_s.name] == [{"b": 2}]


# More than 100 keys in a BatchGetItem is a ValidationException.
def test_batch_get_too_many(dynamodb, test_table_s):
    with pytest.raises(ClientError) as e:
        dynamodb.batch_get_item(RequestItems={test_table_s.name: {
            "Keys": [{"p": f"k{i}"} for i in range(101)]}})
    assert error_code(e) == "ValidationException"


# More than 25 requests in a BatchWriteItem is a ValidationException, and nothing is written.
def test_batch_write_too_many(dynamodb, test_table_s):
    p = random_string()
    with pytest.raises(ClientError) as e:
        dynamodb.batch_write_item(RequestItems={test_table_s.name: [
            {"PutRequest": {"Item": {"p": f"{p}-{i}"}}} for i in range(26)]})
    assert error_code(e) == "ValidationException"
    assert "Item" not in test_table_s.get_item(Key={"p": f"{p}-0"}, ConsistentRead=True)


# Duplicate keys are rejected in both batch operations (also a put and a delete of one key).
def test_batch_duplicates(dynamodb, test_table_s):
    with pytest.raises(ClientError) as e:
        dynamodb.batch_get_item(RequestItems={test_table_s.name: {
            "Keys": [{"p": "dup"}, {"p": "dup"}]}})
    assert error_code(e) == "ValidationException"
    with pytest.raises(ClientError) as e:
        dynamodb.batch_write_item(RequestItems={test_table_s.name: [
            {"PutRequest": {"Item": {"p": "dup", "a": 1}}},
            {"PutRequest": {"Item": {"p": "dup", "a": 2}}}]})
    assert error_code(e) == "ValidationException"
    with pytest.raises(ClientError) as e:
        dynamodb.batch_write_item(RequestItems={test_table_s.name: [
            {"PutRequest": {"Item": {"p": "dup", "a": 1}}},
            {"DeleteRequest": {"Key": {"p": "dup"}}}]})
    assert error_code(e) == "ValidationException"


# A batch naming a missing table is ResourceNotFoundException.
def test_batch_missing_table(dynamodb):
    name = "mysfits_no_such_" + random_string()
    with pytest.raises(ClientError) as e:
        dynamodb.batch_write_item(RequestItems={name: [{"PutRequest": {"Item": {"p": "x"}}}]})
    assert error_code(e) == "ResourceNotFoundException"
    with pytest.raises(ClientError) as e:
        dynamodb.batch_get_item(RequestItems={name: {"Keys": [{"p": "x"}]}})
    assert error_code(e) == "ResourceNotFoundException"


# A bad item in a batch (wrong key type) fails the whole batch with a ValidationException.
def test_batch_write_bad_item(dynamodb, test_table_s):
    p = random_string()
    with pytest.raises(ClientError) as e:
        dynamodb.batch_write_item(RequestItems={test_table_s.name: [
            {"PutRequest": {"Item": {"p": p}}}, {"PutRequest": {"Item": {"p": 5}}}]})
    assert error_code(e) == "ValidationException"
    assert "Item" not in test_table_s.get_item(Key={"p": p}, ConsistentRead=True)


# An empty request list is a ValidationException (sent raw: botocore refuses it client-side).
def test_batch_write_empty(client, test_table_s):
    body = json.dumps({"RequestItems": {test_table_s.name: []}}).encode()
    status, payload = raw_request(client, "DynamoDB_20120810.BatchWriteItem", body)
    assert status == 400 and error_type(payload) == "ValidationException"


# One BatchGetItem answers at most 16 MB of items; the keys past that come back as
# UnprocessedKeys, and resubmitting them gets the rest, each item once.
def test_batch_get_answer_stays_within_16_mb(dynamodb, test_table_s):
    value = "x" * 399_000
    keys = [{"p": random_string()} for _ in range(50)]  # ~19.5 MB in all
    for k in keys:
        test_table_s.put_item(Item={**k, "v": value})

    def size(item):  # DynamoDB's item size: names and values, UTF-8 bytes
        return sum(len(name) + len(str(v)) for name, v in item.items())

    first = dynamodb.batch_get_item(RequestItems={test_table_s.name: {"Keys": keys}})
    page = first["Responses"][test_table_s.name]
    total = sum(size(i) for i in page)
    assert total <= 16 * 1024 * 1024
    assert total > 16 * 1024 * 1024 - 2 * 400_000  # filled, not cut early
    assert first["UnprocessedKeys"]
    got = batch_get_all(dynamodb, first["UnprocessedKeys"])
    returned = [i["p"] for i in page] + [i["p"] for i in got[test_table_s.name]]
    assert sorted(returned) == sorted(k["p"] for k in keys)

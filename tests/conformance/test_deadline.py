# Request deadlines, a project extension (docs/edge.md, "Request deadlines"): the app's services
# pass on the X-Edge-Deadline (Unix epoch ms) of the request they serve, and the local table
# refuses a write that arrives after it — DeadlineExceededException, 400, nothing written —
# while reads ignore it. DynamoDB ignores the header, so these run locally only.
import json
import time

import pytest

from util import error_type, random_string, raw_request


@pytest.fixture(autouse=True)
def local_only(aws):
    if aws:
        pytest.skip("X-Edge-Deadline is a local extension: DynamoDB ignores it")


def update(client, table, p, deadline):
    body = json.dumps({"TableName": table, "Key": {"p": {"S": p}},
                       "UpdateExpression": "ADD n :one",
                       "ExpressionAttributeValues": {":one": {"N": "1"}}}).encode()
    return raw_request(client, "DynamoDB_20120810.UpdateItem", body,
                       headers={"X-Edge-Deadline": deadline})


def count(test_table_s, p):
    item = test_table_s.get_item(Key={"p": p}, ConsistentRead=True).get("Item")
    return None if item is None else int(item["n"])


# A write past its deadline is refused before anything is applied; one within it is applied.
def test_write_past_its_deadline_is_refused(client, test_table_s):
    p = random_string()
    now_ms = int(time.time() * 1000)
    for deadline in ("1000", str(now_ms - 5000)):
        status, payload = update(client, test_table_s.name, p, deadline)
        assert status == 400
        assert error_type(payload) == "DeadlineExceededException"
        assert "deadline" in payload["message"].lower()
    assert count(test_table_s, p) is None
    status, _ = update(client, test_table_s.name, p, str(now_ms + 60000))
    assert status == 200
    assert count(test_table_s, p) == 1
    # PutItem and DeleteItem too.
    for target, body in (("PutItem", {"Item": {"p": {"S": p}}}), ("DeleteItem", {"Key": {"p": {"S": p}}})):
        status, payload = raw_request(client, "DynamoDB_20120810." + target,
                                      json.dumps({"TableName": test_table_s.name, **body}).encode(),
                                      headers={"X-Edge-Deadline": "1000"})
        assert status == 400 and error_type(payload) == "DeadlineExceededException", target
    assert count(test_table_s, p) == 1


# Reads ignore the deadline; a malformed value is ignored too (the services reject it first).
def test_reads_and_malformed_values_ignore_it(client, test_table_s):
    p = random_string()
    test_table_s.put_item(Item={"p": p, "n": 1})
    body = json.dumps({"TableName": test_table_s.name, "Key": {"p": {"S": p}},
                       "ConsistentRead": True}).encode()
    status, payload = raw_request(client, "DynamoDB_20120810.GetItem", body,
                                  headers={"X-Edge-Deadline": "1000"})
    assert status == 200 and payload["Item"]["n"] == {"N": "1"}
    status, _ = update(client, test_table_s.name, p, "soon")
    assert status == 200
    assert count(test_table_s, p) == 2

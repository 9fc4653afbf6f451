# Protocol-level errors seen with raw (but signed) HTTP requests, bypassing boto3's own checks:
# malformed JSON, unknown or missing X-Amz-Target, wrong field types, missing required fields,
# oversized bodies; after each the server must still serve (issue 2 "What bad input gets").
import json
import urllib.request

import pytest

from util import error_type, raw_request


def still_serves(client):
    status, payload = raw_request(client, "DynamoDB_20120810.ListTables", b"{}")
    assert status == 200 and "TableNames" in payload


# Bodies that are not JSON (or not complete JSON) are SerializationException with HTTP 400.
@pytest.mark.parametrize("body", [b"{bad", b"", b'{"TableName": "x"', b"\xff\xfe", b"nul"])
def test_malformed_json(client, body):
    status, payload = raw_request(client, "DynamoDB_20120810.ListTables", body)
    assert status == 400 and error_type(payload) == "SerializationException"
    still_serves(client)


# A field of the wrong JSON type is a SerializationException too.
def test_wrong_field_type(client):
    status, payload = raw_request(client, "DynamoDB_20120810.DescribeTable", b'{"TableName": 5}')
    assert status == 400 and error_type(payload) == "SerializationException"


# A missing required field is a ValidationException.
def test_missing_required_field(client):
    status, payload = raw_request(client, "DynamoDB_20120810.PutItem",
                                  b'{"Item": {"p": {"S": "x"}}}')
    assert status == 400 and error_type(payload) == "ValidationException"


# Unknown operations, a target without service prefix or operation, and a missing X-Amz-Target are UnknownOperationException.
@pytest.mark.parametrize("target", ["DynamoDB_20120810.NoSuchOperation",
                                    "ListTables", "DynamoDB_20120810.", None])
def test_unknown_operation(client, target):
    status, payload = raw_request(client, target, b"{}")
    assert status == 400 and error_type(payload) == "UnknownOperationException"
    still_serves(client)


# The error body carries __type and a message field real SDKs read.
def test_error_body_shape(client):
    status, payload = raw_request(client, "DynamoDB_20120810.DescribeTable",
                                  json.dumps({"TableName": "mysfits_no_such_table"}).encode())
    assert status == 400
    assert payload["__type"].endswith("#ResourceNotFoundException")
    assert "message" in payload or "Message" in payload


# A body over DynamoDB's 16 MB request limit is refused (413, or 400 as some front ends answer)
# and the server keeps serving others.
def test_oversized_body(client):
    body = b'{"TableName": "' + b"x" * (17 * 1024 * 1024) + b'"}'
    try:
        status, _ = raw_request(client, "DynamoDB_20120810.DescribeTable", body)
        assert status in (400, 413)
    except (ConnectionError, OSError):
        pass  # the server may close the connection before reading the whole body
    still_serves(client)


# GET / is DynamoDB's health check: 200 with "healthy: <endpoint>".
def test_health_check(client):
    with urllib.request.urlopen(client.meta.endpoint_url + "/", timeout=30) as r:
        assert r.status == 200
        assert r.read().startswith(b"healthy: ")

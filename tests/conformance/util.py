# Small helpers shared by the conformance tests: unique names, table creation that waits for
# ACTIVE (real DynamoDB creates tables asynchronously), paginated Query/Scan, and signed raw
# HTTP requests (urllib + botocore's SigV4 signer) for the tests that bypass boto3's checks.
import json
import random
import string
import time
import urllib.error
import urllib.request

from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.exceptions import ClientError


def random_string(length=10):
    return "".join(random.choice(string.ascii_letters + string.digits) for _ in range(length))


def random_bytes(length=10):
    return bytes(random.randrange(256) for _ in range(length))


def unique_table_name():
    return "mysfits_test_" + random_string(12)


def wait_for_status(table, status="ACTIVE", timeout=300):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        table.reload()
        if table.table_status == status and all(
                g.get("IndexStatus") == "ACTIVE" for g in (table.global_secondary_indexes or [])):
            return
        time.sleep(0.2)
    raise TimeoutError(f"table {table.name} did not become {status}")


def create_test_table(dynamodb, key_schema, attribute_definitions, **kwargs):
    kwargs.setdefault("BillingMode", "PAY_PER_REQUEST")
    table = dynamodb.create_table(TableName=unique_table_name(), KeySchema=key_schema,
                                  AttributeDefinitions=attribute_definitions, **kwargs)
    wait_for_status(table)
    return table


def delete_table_quietly(table):
    try:
        table.delete()
    except ClientError:
        pass  # already gone: a test deleted it on purpose


def full_scan(table, **kwargs):
    items = []
    while True:
        page = table.scan(**kwargs)
        items.extend(page.get("Items", []))
        if "LastEvaluatedKey" not in page:
            return items
        kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]


def full_query(table, **kwargs):
    items = []
    while True:
        page = table.query(**kwargs)
        items.extend(page.get("Items", []))
        if "LastEvaluatedKey" not in page:
            return items
        kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]


def error_code(excinfo):
    """DynamoDB's error __type name of a ClientError captured by pytest.raises."""
    return excinfo.value.response["Error"]["Code"]


def raw_request(client, target, body, headers=None, sign=True):
    """POSTs `body` (bytes) to the client's endpoint with X-Amz-Target `target` (None: omitted),
    signed with the client's credentials. Returns (status, parsed JSON or raw bytes)."""
    url = client.meta.endpoint_url
    hdrs = {"Content-Type": "application/x-amz-json-1.0"}
    if target is not None:
        hdrs["X-Amz-Target"] = target
    hdrs.update(headers or {})
    req = AWSRequest(method="POST", url=url + "/", data=body, headers=hdrs)
    if sign:
        creds = client._request_signer._credentials.get_frozen_credentials()
        SigV4Auth(creds, "dynamodb", client.meta.region_name).add_auth(req)
    prepared = req.prepare()
    r = urllib.request.Request(prepared.url, data=body, method="POST",
                               headers=dict(prepared.headers.items()))
    try:
        with urllib.request.urlopen(r, timeout=60) as resp:
            status, payload = resp.status, resp.read()
    except urllib.error.HTTPError as e:
        status, payload = e.code, e.read()
    try:
        return status, json.loads(payload)
    except ValueError:
        return status, payload


def error_type(payload):
    """The exception name of a DynamoDB error body (`__type` after the '#')."""
    return payload["__type"].rsplit("#", 1)[-1]

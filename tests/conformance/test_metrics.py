# mysfits-table's own Prometheus endpoint (GET /metrics): request counts by operation and status,
# latency histograms, items per table (issue 2 "Operability"). Not a DynamoDB feature, so these
# tests only run against a locally started server.
import re
import urllib.request

import pytest

from util import random_string


@pytest.fixture(scope="module")
def metrics_url(server):
    if server is None:
        pytest.skip("/metrics is mysfits-table's own endpoint, not DynamoDB's")
    return server.url + "/metrics"


SAMPLE = re.compile(r'^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{[^}]*\})?\s+(\S+)$')


def scrape(url):
    """{(name, frozenset(labels)): value} of the exposition text."""
    with urllib.request.urlopen(url, timeout=30) as r:
        assert r.status == 200
        assert r.headers["Content-Type"].startswith("text/plain")
        text = r.read().decode()
    samples = {}
    for line in text.splitlines():
        if not line or line.startswith("#"):
            continue
        m = SAMPLE.match(line)
        assert m, f"not Prometheus text format: {line!r}"
        labels = frozenset(re.findall(r'(\w+)="((?:[^"\\]|\\.)*)"', m.group(2) or ""))
        samples[(m.group(1), labels)] = float(m.group(3))
    return samples


def requests_of(samples, operation, status):
    return samples.get(("mysfits_table_requests_total",
                        frozenset({("operation", operation), ("status", status)})), 0.0)


# Each request is counted once under its operation and HTTP status.
def test_metrics_request_counts(metrics_url, client, test_table_s):
    before = scrape(metrics_url)
    for i in range(3):
        client.put_item(TableName=test_table_s.name, Item={"p": {"S": random_string()}})
    for i in range(2):
        client.get_item(TableName=test_table_s.name, Key={"p": {"S": "x"}})
    with pytest.raises(Exception):
        client.get_item(TableName="mysfits_no_such_table", Key={"p": {"S": "x"}})
    after = scrape(metrics_url)
    assert requests_of(after, "PutItem", "200") - requests_of(before, "PutItem", "200") == 3
    assert requests_of(after, "GetItem", "200") - requests_of(before, "GetItem", "200") == 2
    assert requests_of(after, "GetItem", "400") - requests_of(before, "GetItem", "400") == 1


# Latency is exported as a histogram per operation whose count follows the requests.
def test_metrics_latency_histogram(metrics_url, client):
    before = scrape(metrics_url)
    client.list_tables()
    after = scrape(metrics_url)
    key = ("mysfits_table_request_duration_seconds_count",
           frozenset({("operation", "ListTables")}))
    assert after.get(key, 0) - before.get(key, 0) == 1
    buckets = [k for k in after if k[0] == "mysfits_table_request_duration_seconds_bucket"
               and ("operation", "ListTables") in k[1]]
    assert any(("le", "+Inf") in k[1] for k in buckets)


# Items per table are exported as a gauge.
def test_metrics_items_per_table(metrics_url, dynamodb):
    table = __import__("util").create_test_table(
        dynamodb, [{"AttributeName": "p", "KeyType": "HASH"}],
        [{"AttributeName": "p", "AttributeType": "S"}])
    try:
        for i in range(4):
            table.put_item(Item={"p": f"k{i}"})
        samples = scrape(metrics_url)
        assert samples[("mysfits_table_items", frozenset({("table", table.name)}))] == 4
    finally:
        table.delete()

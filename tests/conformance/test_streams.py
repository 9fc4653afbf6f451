# DynamoDB Streams through boto3's real `dynamodbstreams` client (issue 3): stream ARNs on
# tables, ListStreams / DescribeStream, every shard iterator type, paging with
# NextShardIterator, the record shape of INSERT / MODIFY / REMOVE per view type, disabling and
# re-enabling, the errors, and (local runs only) retention trimming and records surviving
# `kill -9` of the server. Against real DynamoDB records appear after a moment, so reads poll.
import os
import signal
import subprocess
import time

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError

import util
from conftest import REGION, client_config, make_session
from util import error_code, unique_table_name

HASH_S = ([{"AttributeName": "p", "KeyType": "HASH"}],
          [{"AttributeName": "p", "AttributeType": "S"}])


@pytest.fixture(scope="session")
def streams(aws, endpoint_url):
    """boto3 DynamoDB Streams client of the endpoint under test."""
    return make_session(aws).client("dynamodbstreams", endpoint_url=endpoint_url,
                                    config=client_config(aws))


def create_streamed_table(client, view_type="NEW_AND_OLD_IMAGES"):
    name = unique_table_name()
    client.create_table(TableName=name, KeySchema=HASH_S[0], AttributeDefinitions=HASH_S[1],
                        BillingMode="PAY_PER_REQUEST",
                        StreamSpecification={"StreamEnabled": True, "StreamViewType": view_type})
    client.get_waiter("table_exists").wait(TableName=name,
                                           WaiterConfig={"Delay": 1, "MaxAttempts": 120})
    return name


def drop(client, name):
    try:
        client.delete_table(TableName=name)
    except ClientError:
        pass  # the test deleted it already


@pytest.fixture
def table(client):
    name = create_streamed_table(client)
    yield name
    drop(client, name)


def latest_arn(client, name):
    return client.describe_table(TableName=name)["Table"]["LatestStreamArn"]


def shard_id(streams, arn):
    return streams.describe_stream(StreamArn=arn)["StreamDescription"]["Shards"][0]["ShardId"]


def iterator(streams, arn, kind="TRIM_HORIZON", seq=None):
    kwargs = {"StreamArn": arn, "ShardId": shard_id(streams, arn), "ShardIteratorType": kind}
    if seq is not None:
        kwargs["SequenceNumber"] = seq
    return streams.get_shard_iterator(**kwargs)["ShardIterator"]


def read(streams, it, want, limit=None, timeout=60):
    """Follows NextShardIterator until `want` records arrived (or the shard closed, or the
    timeout); returns (records, the next iterator or None)."""
    out = []
    deadline = time.monotonic() + timeout
    while it is not None and len(out) < want and time.monotonic() < deadline:
        kwargs = {"ShardIterator": it}
        if limit:
            kwargs["Limit"] = limit
        page = streams.get_records(**kwargs)
        out.extend(page["Records"])
        it = page.get("NextShardIterator")
        if not page["Records"]:
            time.sleep(0.2)
    return out, it


def put(client, name, p, **attrs):
    item = {"p": {"S": p}}
    item.update({k: {"S": v} for k, v in attrs.items()})
    client.put_item(TableName=name, Item=item)


def keys_of(records):
    return [r["dynamodb"]["Keys"]["p"]["S"] for r in records]


# DescribeTable names the stream; ListStreams finds it by table; DescribeStream describes it
# with one open shard.
def test_stream_is_listed_and_described(client, streams, table):
    d = client.describe_table(TableName=table)["Table"]
    assert d["StreamSpecification"] == {"StreamEnabled": True,
                                        "StreamViewType": "NEW_AND_OLD_IMAGES"}
    arn = d["LatestStreamArn"]
    assert arn == d["TableArn"] + "/stream/" + d["LatestStreamLabel"]
    listed = streams.list_streams(TableName=table)["Streams"]
    assert listed == [{"StreamArn": arn, "TableName": table, "StreamLabel": d["LatestStreamLabel"]}]
    sd = streams.describe_stream(StreamArn=arn)["StreamDescription"]
    assert sd["StreamArn"] == arn and sd["TableName"] == table
    assert sd["StreamLabel"] == d["LatestStreamLabel"]
    assert sd["StreamStatus"] in ("ENABLING", "ENABLED")
    assert sd["StreamViewType"] == "NEW_AND_OLD_IMAGES"
    assert sd["KeySchema"] == HASH_S[0]
    assert "CreationRequestDateTime" in sd
    assert len(sd["Shards"]) >= 1
    shard = sd["Shards"][0]
    assert shard["ShardId"].startswith("shardId-")
    assert "StartingSequenceNumber" in shard["SequenceNumberRange"]
    assert "EndingSequenceNumber" not in shard["SequenceNumberRange"]


# INSERT, MODIFY and REMOVE arrive in order with DynamoDB's record fields and both images.
def test_insert_modify_remove_records(client, streams, table):
    arn = latest_arn(client, table)
    it = iterator(streams, arn)
    put(client, table, "a", v="1")
    client.update_item(TableName=table, Key={"p": {"S": "a"}}, UpdateExpression="SET v = :v",
                       ExpressionAttributeValues={":v": {"S": "2"}})
    client.delete_item(TableName=table, Key={"p": {"S": "a"}})
    records, _ = read(streams, it, 3)
    assert [r["eventName"] for r in records] == ["INSERT", "MODIFY", "REMOVE"]
    for r in records:
        assert r["eventVersion"] == "1.1" and r["eventSource"] == "aws:dynamodb"
        assert r["awsRegion"] == REGION and r["eventID"]
        d = r["dynamodb"]
        assert d["Keys"] == {"p": {"S": "a"}}
        assert d["StreamViewType"] == "NEW_AND_OLD_IMAGES"
        assert d["SizeBytes"] > 0
        assert d["SequenceNumber"].isdigit()
        assert d["ApproximateCreationDateTime"].year >= 2024
    seqs = [int(r["dynamodb"]["SequenceNumber"]) for r in records]
    assert seqs == sorted(seqs) and len(set(seqs)) == 3
    insert, modify, remove = (r["dynamodb"] for r in records)
    assert insert["NewImage"] == {"p": {"S": "a"}, "v": {"S": "1"}} and "OldImage" not in insert
    assert modify["OldImage"]["v"] == {"S": "1"} and modify["NewImage"]["v"] == {"S": "2"}
    assert remove["OldImage"]["v"] == {"S": "2"} and "NewImage" not in remove


# Each view type carries exactly its images.
@pytest.mark.parametrize("view_type,has_new,has_old", [
    ("KEYS_ONLY", False, False), ("NEW_IMAGE", True, False),
    ("OLD_IMAGE", False, True), ("NEW_AND_OLD_IMAGES", True, True)])
def test_view_types(client, streams, view_type, has_new, has_old):
    name = create_streamed_table(client, view_type)
    try:
        it = iterator(streams, latest_arn(client, name))
        put(client, name, "k", v="1")
        put(client, name, "k", v="2")
        records, _ = read(streams, it, 2)
        assert len(records) == 2
        d = records[1]["dynamodb"]
        assert d["StreamViewType"] == view_type and d["Keys"] == {"p": {"S": "k"}}
        assert ("NewImage" in d) == has_new
        assert ("OldImage" in d) == has_old
    finally:
        drop(client, name)


# TRIM_HORIZON reads from the oldest record, LATEST only what comes after it,
# AT_SEQUENCE_NUMBER from a record and AFTER_SEQUENCE_NUMBER from the next one.
def test_iterator_types(client, streams, table):
    arn = latest_arn(client, table)
    for n in range(4):
        put(client, table, f"k{n}")
    everything, _ = read(streams, iterator(streams, arn, "TRIM_HORIZON"), 4)
    assert keys_of(everything) == ["k0", "k1", "k2", "k3"]
    latest = iterator(streams, arn, "LATEST")
    seq = everything[1]["dynamodb"]["SequenceNumber"]
    at, _ = read(streams, iterator(streams, arn, "AT_SEQUENCE_NUMBER", seq), 3)
    assert keys_of(at) == ["k1", "k2", "k3"]
    after, _ = read(streams, iterator(streams, arn, "AFTER_SEQUENCE_NUMBER", seq), 2)
    assert keys_of(after) == ["k2", "k3"]
    put(client, table, "k4")
    fresh, _ = read(streams, latest, 1)
    assert keys_of(fresh) == ["k4"]


# Limit pages through the shard with NextShardIterator: every record once, in order.
def test_paging_with_next_shard_iterator(client, streams, table):
    arn = latest_arn(client, table)
    for n in range(7):
        put(client, table, f"k{n}")
    it = iterator(streams, arn)
    seen = []
    deadline = time.monotonic() + 60
    while len(seen) < 7 and time.monotonic() < deadline:
        page = streams.get_records(ShardIterator=it, Limit=2)
        assert len(page["Records"]) <= 2
        seen.extend(page["Records"])
        it = page["NextShardIterator"]
    assert keys_of(seen) == [f"k{n}" for n in range(7)]
    assert len({r["eventID"] for r in seen}) == 7
    rest = streams.get_records(ShardIterator=it)
    assert rest["Records"] == [] and "NextShardIterator" in rest


# Disabling keeps the stream readable as DISABLED (closed shard); re-enabling makes a new
# stream with a new label and ARN that has only the records written after it.
def test_disable_then_reenable(client, streams, table):
    first = latest_arn(client, table)
    put(client, table, "before")
    client.update_table(TableName=table, StreamSpecification={"StreamEnabled": False})
    deadline = time.monotonic() + 120
    while True:
        sd = streams.describe_stream(StreamArn=first)["StreamDescription"]
        if sd["StreamStatus"] == "DISABLED" or time.monotonic() > deadline:
            break
        time.sleep(1)
    assert sd["StreamStatus"] == "DISABLED"
    assert "EndingSequenceNumber" in sd["Shards"][-1]["SequenceNumberRange"]
    assert "StreamSpecification" not in client.describe_table(TableName=table)["Table"] or \
        not client.describe_table(TableName=table)["Table"]["StreamSpecification"]["StreamEnabled"]
    records, _ = read(streams, iterator(streams, first), 1)
    assert keys_of(records) == ["before"]

    client.update_table(TableName=table, StreamSpecification={"StreamEnabled": True,
                                                              "StreamViewType": "KEYS_ONLY"})
    second = latest_arn(client, table)
    assert second != first
    put(client, table, "after")
    new_records, _ = read(streams, iterator(streams, second), 1)
    assert keys_of(new_records) == ["after"]
    assert new_records[0]["dynamodb"]["StreamViewType"] == "KEYS_ONLY"
    listed = {s["StreamArn"] for s in streams.list_streams(TableName=table)["Streams"]}
    assert {first, second} <= listed
    assert streams.describe_stream(StreamArn=second)["StreamDescription"]["StreamStatus"] in (
        "ENABLING", "ENABLED")
    # The old stream still holds only its own record.
    old_again, _ = read(streams, iterator(streams, first), 2, timeout=3)
    assert keys_of(old_again) == ["before"]


# ListStreams pages with Limit and ExclusiveStartStreamArn.
def test_list_streams_paging(client, streams):
    names = [create_streamed_table(client, "KEYS_ONLY") for _ in range(3)]
    try:
        arns = set()
        start = None
        for _ in range(100):
            kwargs = {"Limit": 1}
            if start:
                kwargs["ExclusiveStartStreamArn"] = start
            page = streams.list_streams(**kwargs)
            assert len(page["Streams"]) <= 1
            arns.update(s["StreamArn"] for s in page["Streams"] if s["TableName"] in names)
            start = page.get("LastEvaluatedStreamArn")
            if not start:
                break
        assert arns == {latest_arn(client, n) for n in names}
    finally:
        for n in names:
            drop(client, n)


# Bad input gets DynamoDB Streams' errors.
def test_errors(client, streams, table):
    arn = latest_arn(client, table)
    shard = shard_id(streams, arn)
    with pytest.raises(ClientError) as e:
        streams.get_shard_iterator(StreamArn=arn, ShardId=shard, ShardIteratorType="SIDEWAYS")
    assert error_code(e) == "ValidationException"
    with pytest.raises(ClientError) as e:
        streams.get_shard_iterator(StreamArn=arn, ShardId=shard,
                                   ShardIteratorType="AT_SEQUENCE_NUMBER")
    assert error_code(e) == "ValidationException"
    it = iterator(streams, arn, "LATEST")
    with pytest.raises(ClientError) as e:  # (botocore itself refuses a Limit below 1)
        streams.get_records(ShardIterator=it, Limit=1001)
    assert error_code(e) == "ValidationException"
    with pytest.raises(ClientError) as e:
        streams.describe_stream(StreamArn=arn[:-3] + "999")
    assert error_code(e) == "ResourceNotFoundException"
    with pytest.raises(ClientError) as e:
        streams.get_shard_iterator(StreamArn=arn, ShardId="shardId-00000000000000000000-00000000",
                                   ShardIteratorType="LATEST")
    assert error_code(e) == "ResourceNotFoundException"


# A deleted table's streams are gone.
def test_deleted_table_stream_is_gone(client, streams):
    name = create_streamed_table(client)
    arn = latest_arn(client, name)
    client.delete_table(TableName=name)
    client.get_waiter("table_not_exists").wait(TableName=name,
                                               WaiterConfig={"Delay": 1, "MaxAttempts": 120})
    deadline = time.monotonic() + 120
    while True:
        try:
            status = streams.describe_stream(StreamArn=arn)["StreamDescription"]["StreamStatus"]
        except ClientError as e:
            assert e.response["Error"]["Code"] == "ResourceNotFoundException"
            return
        # Real DynamoDB keeps a deleted table's stream readable (DISABLED) for a while.
        assert status in ("DISABLING", "DISABLED")
        if time.monotonic() > deadline:
            pytest.skip("the endpoint keeps deleted tables' streams (as real DynamoDB does)")
        time.sleep(1)


# Requests of the streams client signed with SigV4 (service name "dynamodb") are verified like
# the table API's: good signatures pass, a wrong secret is refused.
def test_streams_client_is_signature_checked(aws, start_server):
    if aws:
        pytest.skip("local signature check")
    key, secret = "AKIDSTREAMSTEST", "streams/secret"
    s = start_server("--access-key-id", key, "--secret-access-key", secret)

    def clients(sec):
        session = boto3.Session(aws_access_key_id=key, aws_secret_access_key=sec,
                                region_name=REGION)
        cfg = Config(retries={"total_max_attempts": 1})
        return (session.client("dynamodb", endpoint_url=s.url, config=cfg),
                session.client("dynamodbstreams", endpoint_url=s.url, config=cfg))

    ddb, good = clients(secret)
    name = create_streamed_table(ddb, "KEYS_ONLY")
    assert [x["TableName"] for x in good.list_streams()["Streams"]] == [name]
    _, bad = clients("wrong")
    with pytest.raises(ClientError) as e:
        bad.list_streams()
    assert error_code(e) == "InvalidSignatureException"


def local_only(aws, request):
    if aws or request.config.getoption("--url"):
        pytest.skip("starts its own server")


# With a short retention the trimmer deletes old records: TRIM_HORIZON then starts at the oldest
# kept record, and positions older than that are TrimmedDataAccessException.
def test_trimmed_records(aws, request, start_server):
    local_only(aws, request)
    s = start_server("--stream-retention-seconds", "4")
    session = make_session(False)
    ddb = session.client("dynamodb", endpoint_url=s.url, config=client_config(False))
    st = session.client("dynamodbstreams", endpoint_url=s.url, config=client_config(False))
    name = create_streamed_table(ddb, "KEYS_ONLY")
    arn = latest_arn(ddb, name)
    old_it = iterator(st, arn)
    put(ddb, name, "old")
    old, _ = read(st, old_it, 1)
    old_seq = old[0]["dynamodb"]["SequenceNumber"]
    deadline = time.monotonic() + 120
    trimmed = False
    while not trimmed and time.monotonic() < deadline:
        time.sleep(0.5)
        try:
            st.get_records(ShardIterator=old_it)
        except ClientError as e:
            assert error_code_of(e) == "TrimmedDataAccessException"
            trimmed = True
    assert trimmed, "the old record was never trimmed"
    with pytest.raises(ClientError) as e:
        iterator(st, arn, "AT_SEQUENCE_NUMBER", old_seq)
    assert error_code(e) == "TrimmedDataAccessException"
    put(ddb, name, "new")
    kept, _ = read(st, iterator(st, arn), 1)
    assert keys_of(kept) == ["new"]


def error_code_of(e):
    return e.response["Error"]["Code"]


def kill9_and_restart(s):
    """kill -9 the server, then start it again on the same data dir (a new port)."""
    os.kill(s.proc.pid, signal.SIGKILL)
    s.proc.wait(timeout=30)
    args = s.proc.args
    s.log.close()
    s.log = open(s.log_path, "w")
    s.proc = subprocess.Popen(args, stdout=s.log, stderr=subprocess.STDOUT,
                              stdin=subprocess.DEVNULL)
    s.url = s._wait_for_address(timeout=60)


# Acknowledged writes' records survive kill -9: after a restart the shard holds every one of them
# exactly once, and an iterator handed out before the kill goes on where it stopped.
def test_records_survive_kill9(aws, request, start_server):
    local_only(aws, request)
    s = start_server()
    session = make_session(False)

    def clients():
        return (session.client("dynamodb", endpoint_url=s.url, config=client_config(False)),
                session.client("dynamodbstreams", endpoint_url=s.url, config=client_config(False)))

    ddb, st = clients()
    name = create_streamed_table(ddb, "NEW_IMAGE")
    arn = latest_arn(ddb, name)
    for n in range(30):
        put(ddb, name, f"k{n % 20}", v=str(n))
    first_half, it = read(st, iterator(st, arn), 10, limit=10)
    assert len(first_half) == 10
    kill9_and_restart(s)
    ddb, st = clients()
    for n in range(30, 40):
        put(ddb, name, f"k{n % 20}", v=str(n))
    rest, _ = read(st, it, 30)
    everything, _ = read(st, iterator(st, arn), 40)
    assert first_half + rest == everything
    assert len(everything) == 40
    assert [r["dynamodb"]["NewImage"]["v"]["S"] for r in everything] == [str(n) for n in range(40)]
    assert len({r["eventID"] for r in everything}) == 40
    seqs = [int(r["dynamodb"]["SequenceNumber"]) for r in everything]
    assert seqs == sorted(seqs) and len(set(seqs)) == 40
    assert [r["eventName"] for r in everything[:20]] == ["INSERT"] * 20
    assert set(r["eventName"] for r in everything[20:]) == {"MODIFY"}

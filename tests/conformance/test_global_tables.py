# Global tables (issue 3, DynamoDB global tables version 2019.11.21) across three mysfits-table
# engines, one per region, driven with the real AWS CLI and boto3: ReplicaUpdates Create
# (back-fill of existing data, same keys and indexes, stream turned on) and Delete,
# DescribeTable's GlobalTableVersion and Replicas in every region, writes in every region
# converging, deletes, validation errors, metrics, and last-writer-wins stated explicitly.
# Local only: it starts its own engines (skipped with --aws / --url).
import json
import os
import re
import shutil
import subprocess

import pytest
from botocore.exceptions import ClientError

from multiregion import Deployment, KEY_ID, SECRET, contents, wait_converged, wait_until
from util import unique_table_name

AWS = "/usr/bin/aws" if os.path.exists("/usr/bin/aws") else shutil.which("aws")
WEST, EAST, EU = "us-west-2", "us-east-1", "eu-west-1"


@pytest.fixture(scope="module")
def regions(request):
    if request.config.getoption("--aws") or request.config.getoption("--url"):
        pytest.skip("starts its own engines: local runs only")
    d = Deployment(os.environ["MYSFITS_TABLE_BIN"], [WEST, EAST, EU],
                   ["--replication-poll-wait-ms", "200", "--no-sync"])
    yield d
    d.stop()


@pytest.fixture(scope="module")
def cli(regions, tmp_path_factory):
    """`aws dynamodb <args> --region R --endpoint-url <R's engine>` → parsed JSON."""
    if not AWS:
        pytest.fail("the AWS CLI is not installed (scripts/install-deps.sh installs awscli)")
    home = tmp_path_factory.mktemp("awscli")
    env = dict(os.environ, AWS_PAGER="", AWS_ACCESS_KEY_ID=KEY_ID, AWS_SECRET_ACCESS_KEY=SECRET,
               AWS_CONFIG_FILE=str(home / "config"),
               AWS_SHARED_CREDENTIALS_FILE=str(home / "credentials"))

    def run(region, *args, check=True):
        cmd = [AWS, "dynamodb", *args, "--output", "json", "--region", region,
               "--endpoint-url", regions[region].url]
        r = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=120)
        if check:
            assert r.returncode == 0, f"{' '.join(args)} failed: {r.stderr}"
            return json.loads(r.stdout) if r.stdout.strip() else {}
        return r

    return run


def create_table(client, name, **kwargs):
    client.create_table(
        TableName=name, BillingMode="PAY_PER_REQUEST",
        AttributeDefinitions=[{"AttributeName": "p", "AttributeType": "S"},
                              {"AttributeName": "color", "AttributeType": "S"}],
        KeySchema=[{"AttributeName": "p", "KeyType": "HASH"}],
        GlobalSecondaryIndexes=[{"IndexName": "ByColor",
                                 "KeySchema": [{"AttributeName": "color", "KeyType": "HASH"}],
                                 "Projection": {"ProjectionType": "ALL"}}],
        **kwargs)


def replicas_of(client, table):
    d = client.describe_table(TableName=table)["Table"]
    return {r["RegionName"]: r["ReplicaStatus"] for r in d.get("Replicas", [])}


@pytest.fixture(scope="module")
def global_table(regions, cli):
    """A table created in us-west-2 with 120 items, then made global in all three regions."""
    west = regions[WEST].client()
    name = unique_table_name()
    create_table(west, name)
    for n in range(120):
        west.put_item(TableName=name, Item={"p": {"S": f"seed{n}"}, "n": {"N": str(n)},
                                            "color": {"S": "red" if n % 2 else "blue"}})
    # The AWS CLI, exactly as a user of DynamoDB 2019.11.21 global tables would.
    d = cli(WEST, "update-table", "--table-name", name, "--replica-updates",
            json.dumps([{"Create": {"RegionName": EAST}}]))["TableDescription"]
    assert d["GlobalTableVersion"] == "2019.11.21"
    assert d["Replicas"] == [{"RegionName": EAST, "ReplicaStatus": "CREATING"}]
    assert d["StreamSpecification"] == {"StreamEnabled": True,
                                        "StreamViewType": "NEW_AND_OLD_IMAGES"}
    wait_until(lambda: replicas_of(west, name) == {EAST: "ACTIVE"}, what="us-east-1 ACTIVE")
    # The third region is added from the second one.
    regions[EAST].client().update_table(TableName=name,
                                        ReplicaUpdates=[{"Create": {"RegionName": EU}}])
    for r, others in ((WEST, {EAST, EU}), (EAST, {WEST, EU}), (EU, {WEST, EAST})):
        c = regions[r].client()
        wait_until(lambda: replicas_of(c, name) == {o: "ACTIVE" for o in others},
                   what=f"replicas seen from {r}")
    return name


# A replica created on a table that already holds data is back-filled, with the same keys,
# indexes and billing, and its stream on with NEW_AND_OLD_IMAGES.
def test_replica_is_backfilled_with_same_schema(regions, global_table):
    west_d = regions[WEST].client().describe_table(TableName=global_table)["Table"]
    for r in (EAST, EU):
        c = regions[r].client()
        d = c.describe_table(TableName=global_table)["Table"]
        assert d["KeySchema"] == west_d["KeySchema"]
        assert d["BillingModeSummary"]["BillingMode"] == "PAY_PER_REQUEST"
        assert [g["IndexName"] for g in d["GlobalSecondaryIndexes"]] == ["ByColor"]
        assert d["StreamSpecification"]["StreamViewType"] == "NEW_AND_OLD_IMAGES"
        assert d["GlobalTableVersion"] == "2019.11.21"
        items = wait_until(lambda: len(contents(c, global_table)) == 120 and
                           contents(c, global_table), what=f"back-fill of {r}")
        assert json.loads(items['{"S": "seed7"}'])["n"] == {"N": "7"}
        blue = c.query(TableName=global_table, IndexName="ByColor",
                       KeyConditionExpression="color = :c",
                       ExpressionAttributeValues={":c": {"S": "blue"}})
        assert blue["Count"] == 60


# DescribeTable in every region lists the other two regions' replicas, ACTIVE.
def test_describe_shows_replicas_in_every_region(regions, global_table, cli):
    for r in (WEST, EAST, EU):
        d = cli(r, "describe-table", "--table-name", global_table)["Table"]
        assert d["GlobalTableVersion"] == "2019.11.21"
        assert sorted(d["Replicas"], key=lambda x: x["RegionName"]) == sorted(
            [{"RegionName": o, "ReplicaStatus": "ACTIVE"} for o in (WEST, EAST, EU) if o != r],
            key=lambda x: x["RegionName"])


# Puts, updates and deletes made in every region reach every other, without echoes, and all
# replicas end identical.
def test_writes_in_every_region_converge(regions, global_table):
    clients = {r: regions[r].client() for r in (WEST, EAST, EU)}
    for r, c in clients.items():
        for n in range(20):
            c.put_item(TableName=global_table,
                       Item={"p": {"S": f"{r}-{n}"}, "from": {"S": r}, "color": {"S": "green"}})
        c.update_item(TableName=global_table, Key={"p": {"S": f"{r}-0"}},
                      UpdateExpression="SET touched = :t",
                      ExpressionAttributeValues={":t": {"S": r}})
        c.delete_item(TableName=global_table, Key={"p": {"S": f"{r}-1"}})
        c.delete_item(TableName=global_table, Key={"p": {"S": f"seed{len(r)}"}})
    final = wait_converged(regions, global_table)
    for r in clients:
        assert f'{{"S": "{r}-1"}}' not in final
        assert json.loads(final[f'{{"S": "{r}-0"}}'])["touched"] == {"S": r}
        assert json.loads(final[f'{{"S": "{r}-19"}}'])["from"] == {"S": r}
    # Every change applied exactly once: 120 seeds - 2 deleted (len 9 names both) + 3 * 19.
    assert len(final) == 120 - 1 + 3 * 19
    # No echo: a region's own change does not come back to it as a replicated one.
    for r in clients:
        m = regions[r].metrics()
        assert f'mysfits_table_replication_latency_ms{{region="{r}"' in m


# A delete in one region wins over the older item everywhere, and the key stays deleted.
def test_delete_replicates(regions, global_table):
    west, eu = regions[WEST].client(), regions[EU].client()
    west.put_item(TableName=global_table, Item={"p": {"S": "doomed"}, "v": {"N": "1"}})
    wait_until(lambda: "Item" in eu.get_item(TableName=global_table,
                                              Key={"p": {"S": "doomed"}}), what="put reaches eu")
    eu.delete_item(TableName=global_table, Key={"p": {"S": "doomed"}})
    final = wait_converged(regions, global_table)
    assert '{"S": "doomed"}' not in final


# An item nested to DynamoDB's 32-level limit, with numbers in any spelling, replicates like any
# other: every parser on the way (stream records, replication frames) accepts that depth, and
# every replica holds the canonical numbers.
def test_deeply_nested_item_replicates(regions, global_table):
    deep = {"N": "1.50"}
    for _ in range(31):
        deep = {"M": {"a": deep}}
    stored = json.loads(json.dumps(deep).replace('"1.50"', '"1.5"'))
    west, eu = regions[WEST].client(), regions[EU].client()
    west.put_item(TableName=global_table, Item={"p": {"S": "deep"}, "d": deep})
    wait_until(lambda: eu.get_item(TableName=global_table, Key={"p": {"S": "deep"}}).get("Item")
               == {"p": {"S": "deep"}, "d": stored}, what="the nested item reaches eu")
    eu.delete_item(TableName=global_table, Key={"p": {"S": "deep"}})
    final = wait_converged(regions, global_table)
    assert '{"S": "deep"}' not in final


# Last writer wins, as DynamoDB documents: two regions that each ADD 1 to the same counter
# while they cannot see each other end with the counter at 1, not 2 — one increment is lost.
# Conditional writes are checked against the local replica only, so both ADDs succeed.
def test_concurrent_adds_in_two_regions_lose_one_under_lww(regions, global_table):
    west, east = regions[WEST].client(), regions[EAST].client()
    west.put_item(TableName=global_table, Item={"p": {"S": "likes"}, "n": {"N": "0"}})
    wait_converged(regions, global_table)
    regions.cut_off(EAST)
    try:
        for c in (west, east):
            c.update_item(TableName=global_table, Key={"p": {"S": "likes"}},
                          UpdateExpression="ADD n :one", ConditionExpression="n = :zero",
                          ExpressionAttributeValues={":one": {"N": "1"}, ":zero": {"N": "0"}})
        # The cut-off region keeps serving its own reads and writes.
        assert east.get_item(TableName=global_table,
                             Key={"p": {"S": "likes"}})["Item"]["n"] == {"N": "1"}
    finally:
        regions.heal(EAST)
    final = wait_converged(regions, global_table)
    assert json.loads(final['{"S": "likes"}'])["n"] == {"N": "1"}  # 1 + 1 = 1 under LWW


# Each region exports per peer region its replication latency and backlog.
def test_replication_metrics_per_peer(regions, global_table):
    m = regions[EAST].metrics()
    for peer in (WEST, EU):
        labels = f'{{region="{EAST}",peer="{peer}"}}'
        assert f"mysfits_table_replication_latency_ms{labels}" in m
        assert f"mysfits_table_replication_backlog{labels}" in m
        assert f"mysfits_table_replication_latency_seconds_count{labels}" in m


def expect_validation(fn, fragment):
    with pytest.raises(ClientError) as e:
        fn()
    assert e.value.response["Error"]["Code"] == "ValidationException"
    assert fragment in e.value.response["Error"]["Message"]


# DynamoDB's validation errors for replica updates.
def test_replica_update_validation(regions, global_table):
    west = regions[WEST].client()
    expect_validation(lambda: west.update_table(
        TableName=global_table, ReplicaUpdates=[{"Create": {"RegionName": EAST}}]),
        "already existed as tables")
    expect_validation(lambda: west.update_table(
        TableName=global_table, ReplicaUpdates=[{"Create": {"RegionName": "mars-north-1"}}]),
        "mars-north-1")
    expect_validation(lambda: west.update_table(
        TableName=global_table, ReplicaUpdates=[{"Create": {"RegionName": WEST}}]),
        "Cannot add, delete, or update the local region through ReplicaUpdates")
    name = unique_table_name()
    create_table(west, name, StreamSpecification={"StreamEnabled": True,
                                                  "StreamViewType": "KEYS_ONLY"})
    try:
        expect_validation(lambda: west.update_table(
            TableName=name, ReplicaUpdates=[{"Create": {"RegionName": EAST}}]),
            "NEW_AND_OLD_IMAGES")
        expect_validation(lambda: west.update_table(
            TableName=name, ReplicaUpdates=[{"Delete": {"RegionName": EAST}}]),
            "no replica")
    finally:
        west.delete_table(TableName=name)
    with pytest.raises(ClientError) as e:
        west.update_table(TableName="no_such_table_here",
                          ReplicaUpdates=[{"Create": {"RegionName": EAST}}])
    assert e.value.response["Error"]["Code"] == "ResourceNotFoundException"


# ReplicaUpdates Update (DynamoDB's UpdateReplicationGroupMemberAction): per-replica settings
# are accepted, validated and reported in DescribeTable's Replicas[] in every region.
def test_replica_update_settings(regions, global_table, cli):
    d = cli(WEST, "update-table", "--table-name", global_table, "--replica-updates", json.dumps(
        [{"Update": {"RegionName": EAST, "TableClassOverride": "STANDARD_INFREQUENT_ACCESS",
                     "KMSMasterKeyId": "alias/mysfits"}}]))
    east = {r["RegionName"]: r for r in d["TableDescription"]["Replicas"]}[EAST]
    assert east["ReplicaStatus"] == "ACTIVE"
    assert east["ReplicaTableClassSummary"]["TableClass"] == "STANDARD_INFREQUENT_ACCESS"
    assert east["KMSMasterKeyId"] == "alias/mysfits"
    # boto3: a later Update adds the index entry and keeps the rest. (The packaged clients
    # predate OnDemandThroughputOverride; the engine accepts it too.)
    d = regions[WEST].client().update_table(TableName=global_table, ReplicaUpdates=[
        {"Update": {"RegionName": EAST, "GlobalSecondaryIndexes": [{"IndexName": "ByColor"}]}}])
    east = {r["RegionName"]: r for r in d["TableDescription"]["Replicas"]}[EAST]
    assert east["ReplicaTableClassSummary"]["TableClass"] == "STANDARD_INFREQUENT_ACCESS"
    assert east["GlobalSecondaryIndexes"] == [{"IndexName": "ByColor"}]

    def east_seen_from(region):
        reps = regions[region].client().describe_table(TableName=global_table)["Table"]["Replicas"]
        e = {r["RegionName"]: r for r in reps}.get(EAST, {})
        return e.get("ReplicaTableClassSummary", {}).get("TableClass")
    wait_until(lambda: east_seen_from(EU) == "STANDARD_INFREQUENT_ACCESS",
               what="eu-west-1 sees us-east-1's settings")
    # A later update changes only what it names.
    regions[EU].client().update_table(TableName=global_table, ReplicaUpdates=[
        {"Update": {"RegionName": EAST, "TableClassOverride": "STANDARD"}}])
    wait_until(lambda: east_seen_from(WEST) == "STANDARD", what="us-west-2 sees the change")
    reps = regions[WEST].client().describe_table(TableName=global_table)["Table"]["Replicas"]
    assert {r["RegionName"]: r for r in reps}[EAST]["KMSMasterKeyId"] == "alias/mysfits"
    # Only DynamoDB's fields: the engine's own version of the settings stays inside.
    for r in (WEST, EAST, EU):
        for rep in regions[r].client().describe_table(TableName=global_table)["Table"]["Replicas"]:
            assert set(rep) <= {"RegionName", "ReplicaStatus", "ReplicaTableClassSummary",
                                "KMSMasterKeyId", "GlobalSecondaryIndexes",
                                "ProvisionedThroughputOverride", "OnDemandThroughputOverride"}, rep
    # Validation, as DynamoDB answers it.
    west = regions[WEST].client()

    def update(u):
        return lambda: west.update_table(TableName=global_table, ReplicaUpdates=[{"Update": u}])
    expect_validation(update({"RegionName": "mars-north-1"}), "mars-north-1")
    expect_validation(update({"RegionName": WEST}),
                      "Cannot add, delete, or update the local region through ReplicaUpdates")
    expect_validation(update({"RegionName": EAST, "TableClassOverride": "GOLD"}),
                      "enum value set")
    expect_validation(update({"RegionName": EAST,
                              "ProvisionedThroughputOverride": {"ReadCapacityUnits": 5}}),
                      "PAY_PER_REQUEST")
    with pytest.raises(ClientError) as e:
        update({"RegionName": EAST, "GlobalSecondaryIndexes": [{"IndexName": "NoSuchIndex"}]})()
    assert e.value.response["Error"]["Code"] == "ResourceNotFoundException"
    name = unique_table_name()
    create_table(west, name)
    try:
        expect_validation(lambda: west.update_table(
            TableName=name, ReplicaUpdates=[{"Update": {"RegionName": EAST}}]), "no replica")
    finally:
        west.delete_table(TableName=name)


# DeleteTable on one replica of a global table deletes that region's replica only (DynamoDB
# 2019.11.21): the other regions drop it from Replicas[] and keep replicating with each other,
# and nothing replicates to or from the deleted region any more.
def test_delete_table_in_one_region_removes_that_replica(regions):
    west, east, eu = (regions[r].client() for r in (WEST, EAST, EU))
    name = unique_table_name()
    create_table(west, name)
    west.put_item(TableName=name, Item={"p": {"S": "before"}})
    west.update_table(TableName=name, ReplicaUpdates=[{"Create": {"RegionName": EAST}}])
    wait_until(lambda: replicas_of(west, name) == {EAST: "ACTIVE"}, what="us-east-1 ACTIVE")
    west.update_table(TableName=name, ReplicaUpdates=[{"Create": {"RegionName": EU}}])
    for c, others in ((west, {EAST, EU}), (east, {WEST, EU}), (eu, {WEST, EAST})):
        wait_until(lambda: replicas_of(c, name) == {o: "ACTIVE" for o in others},
                   what="three ACTIVE replicas")
    d = eu.delete_table(TableName=name)["TableDescription"]
    assert d["TableStatus"] == "DELETING"
    with pytest.raises(ClientError) as e:
        eu.describe_table(TableName=name)
    assert e.value.response["Error"]["Code"] == "ResourceNotFoundException"
    wait_until(lambda: replicas_of(west, name) == {EAST: "ACTIVE"}, what="us-west-2 drops EU")
    wait_until(lambda: replicas_of(east, name) == {WEST: "ACTIVE"}, what="us-east-1 drops EU")
    east.put_item(TableName=name, Item={"p": {"S": "after"}})
    final = wait_converged(regions, name, names=[WEST, EAST])
    assert set(final) == {'{"S": "after"}', '{"S": "before"}'}
    # Replication to the deleted region stopped: it did not get the table back.
    with pytest.raises(ClientError) as e:
        eu.describe_table(TableName=name)
    assert e.value.response["Error"]["Code"] == "ResourceNotFoundException"
    # The last two replicas: deleting one leaves the other a regional table.
    east.delete_table(TableName=name)
    wait_until(lambda: replicas_of(west, name) == {}, what="us-west-2 is regional again")
    west.put_item(TableName=name, Item={"p": {"S": "alone"}})
    west.delete_table(TableName=name)


# Deleting a replica removes that region's table and the region from every Replicas list;
# the others keep replicating with each other.
def test_delete_replica(regions, global_table, cli):
    d = cli(WEST, "update-table", "--table-name", global_table, "--replica-updates",
            json.dumps([{"Delete": {"RegionName": EU}}]))["TableDescription"]
    assert {"RegionName": EU, "ReplicaStatus": "DELETING"} in d["Replicas"]
    eu = regions[EU].client()
    with pytest.raises(ClientError) as e:
        eu.describe_table(TableName=global_table)
    assert e.value.response["Error"]["Code"] == "ResourceNotFoundException"
    assert replicas_of(regions[WEST].client(), global_table) == {EAST: "ACTIVE"}
    wait_until(lambda: replicas_of(regions[EAST].client(), global_table) == {WEST: "ACTIVE"},
               what="us-east-1 forgets eu-west-1")
    regions[EAST].client().put_item(TableName=global_table, Item={"p": {"S": "after-delete"}})
    wait_converged(regions, global_table, names=[WEST, EAST])


# A replica cut off for longer than its peer keeps stream records re-syncs from a snapshot of
# that peer when the link returns (here the streams keep 2 s of records).
def test_replica_behind_trimmed_stream_resyncs_from_snapshot(request):
    if request.config.getoption("--aws") or request.config.getoption("--url"):
        pytest.skip("starts its own engines: local runs only")
    d = Deployment(os.environ["MYSFITS_TABLE_BIN"], [WEST, EAST],
                   ["--replication-poll-wait-ms", "200", "--no-sync",
                    "--stream-retention-seconds", "2"])
    try:
        west, east = d[WEST].client(), d[EAST].client()
        name = unique_table_name()
        create_table(west, name)
        west.update_table(TableName=name, ReplicaUpdates=[{"Create": {"RegionName": EAST}}])
        wait_until(lambda: replicas_of(west, name) == {EAST: "ACTIVE"}, what="replica ACTIVE")
        west.put_item(TableName=name, Item={"p": {"S": "before"}})
        wait_converged(d, name)
        d.cut_off(EAST)
        offset = len(d[WEST].output())
        for n in range(30):
            west.put_item(TableName=name, Item={"p": {"S": f"during{n}"}, "n": {"N": str(n)}})
        west.update_item(TableName=name, Key={"p": {"S": "before"}},
                         UpdateExpression="SET changed = :t",
                         ExpressionAttributeValues={":t": {"BOOL": True}})
        # Wait until us-west-2 has trimmed the records us-east-1 has not pulled (at most the one
        # record from before the cut is among those counted).
        def trimmed_since_cut():
            lines = re.findall(r"trimmed (\d+) stream records", d[WEST].output()[offset:])
            return sum(int(n) for n in lines) >= 31
        wait_until(trimmed_since_cut, timeout=60, what="stream trimmed")
        d.heal(EAST)
        final = wait_converged(d, name)
        assert len(final) == 31
        assert json.loads(final['{"S": "before"}'])["changed"] == {"BOOL": True}
        wait_until(lambda: "re-synced" in d[EAST].output(), timeout=30, what="re-sync logged")
    finally:
        d.stop()


# A replica cut off for longer than the tombstone retention re-syncs from a snapshot of its
# peer and drops the items the peer deleted meanwhile (their tombstones already purged), while
# keeping its own writes the peer has not pulled yet; the replicas end identical.
def test_resync_drops_items_deleted_after_tombstones_were_purged(request):
    if request.config.getoption("--aws") or request.config.getoption("--url"):
        pytest.skip("starts its own engines: local runs only")
    d = Deployment(os.environ["MYSFITS_TABLE_BIN"], [WEST, EAST],
                   ["--replication-poll-wait-ms", "200", "--no-sync",
                    "--stream-retention-seconds", "2", "--tombstone-retention-seconds", "2"])
    try:
        west, east = d[WEST].client(), d[EAST].client()
        name = unique_table_name()
        create_table(west, name)
        west.update_table(TableName=name, ReplicaUpdates=[{"Create": {"RegionName": EAST}}])
        wait_until(lambda: replicas_of(west, name) == {EAST: "ACTIVE"}, what="replica ACTIVE")
        offset = len(d[WEST].output())  # before any of the table's 13 stream records
        west.put_item(TableName=name, Item={"p": {"S": "keep"}})
        for n in range(5):
            west.put_item(TableName=name, Item={"p": {"S": f"gone{n}"}, "color": {"S": "red"}})
        east.put_item(TableName=name, Item={"p": {"S": "east-old"}})
        wait_converged(d, name)
        d.cut_off(EAST)
        for n in range(5):
            west.delete_item(TableName=name, Key={"p": {"S": f"gone{n}"}})
        west.update_item(TableName=name, Key={"p": {"S": "keep"}},
                         UpdateExpression="SET changed = :t",
                         ExpressionAttributeValues={":t": {"BOOL": True}})
        east.put_item(TableName=name, Item={"p": {"S": "east-new"}})  # not pulled by us-west-2

        def purged_and_trimmed():
            out = d[WEST].output()[offset:]
            purged = sum(int(n) for n in re.findall(r"purged (\d+) tombstones of " + name, out))
            trimmed = sum(int(n) for n in re.findall(
                r"trimmed (\d+) stream records of table " + name, out))
            return purged >= 5 and trimmed >= 13  # 7 before the cut (one from us-east-1), 6 after
        wait_until(purged_and_trimmed, timeout=60, what="tombstones purged, stream trimmed")
        assert len(contents(east, name)) == 8  # the cut-off replica still has the deleted items
        d.heal(EAST)
        final = wait_converged(d, name)
        assert set(final) == {'{"S": "keep"}', '{"S": "east-old"}', '{"S": "east-new"}'}
        assert json.loads(final['{"S": "keep"}'])["changed"] == {"BOOL": True}
        log = wait_until(lambda: re.search(
            r"re-synced \d+ items of " + name + r" from us-west-2 .*; (\d+) local items",
            d[EAST].output()), timeout=30, what="re-sync logged")
        assert int(log.group(1)) == 5
        # The index lost them too.
        red = east.query(TableName=name, IndexName="ByColor",
                         KeyConditionExpression="color = :c",
                         ExpressionAttributeValues={":c": {"S": "red"}})
        assert red["Count"] == 0
    finally:
        d.stop()


# Conflict-free likes (issue 7, beyond DynamoDB): with the table tag mysfits:counter-merge=true,
# ADD on a number and SET n = n + :n replicate as increments every region adds, so concurrent
# likes in two regions are all kept, while other attributes keep last-writer-wins.
def test_counter_merge_keeps_concurrent_increments(regions):
    west, east = regions[WEST].client(), regions[EAST].client()
    name = unique_table_name()
    create_table(west, name, Tags=[{"Key": "mysfits:counter-merge", "Value": "true"}])
    west.update_table(TableName=name, ReplicaUpdates=[{"Create": {"RegionName": EAST}}])
    wait_until(lambda: replicas_of(west, name) == {EAST: "ACTIVE"}, what="replica ACTIVE")
    west.put_item(TableName=name, Item={"p": {"S": "mysfit"}, "likes": {"N": "0"},
                                        "name": {"S": "Gretta"}})
    wait_converged(regions, name, names=[WEST, EAST])
    regions.cut_off(EAST, among=[WEST, EAST])
    try:
        for _ in range(3):
            west.update_item(TableName=name, Key={"p": {"S": "mysfit"}},
                             UpdateExpression="ADD likes :one",
                             ExpressionAttributeValues={":one": {"N": "1"}})
        for _ in range(2):
            east.update_item(TableName=name, Key={"p": {"S": "mysfit"}},
                             UpdateExpression="SET likes = likes + :one, #n = :n",
                             ExpressionAttributeNames={"#n": "name"},
                             ExpressionAttributeValues={":one": {"N": "1"},
                                                        ":n": {"S": "Gretta (east)"}})
    finally:
        regions.heal(EAST)

    # Equal contents alone are no proof: each region can for a moment hold its own increments
    # and all but the other's last one, with the same total. So the total is waited for first
    # (a lost increment times out here), then the replicas must be identical.
    def likes_everywhere(n):
        return all(c.get_item(TableName=name, Key={"p": {"S": "mysfit"}})["Item"]["likes"]
                   == {"N": str(n)} for c in (west, east))

    wait_until(lambda: likes_everywhere(5), what="5 likes in both regions")
    final = wait_converged(regions, name, names=[WEST, EAST])
    item = json.loads(final['{"S": "mysfit"}'])
    assert item["likes"] == {"N": "5"}  # 3 + 2: no increment lost
    # The other attribute keeps last-writer-wins: the later write (in us-east-1) wins.
    assert item["name"] == {"S": "Gretta (east)"}
    # Likes keep adding up after the partition too, from both sides at once.
    for c in (west, east, west):
        c.update_item(TableName=name, Key={"p": {"S": "mysfit"}},
                      UpdateExpression="ADD likes :one",
                      ExpressionAttributeValues={":one": {"N": "1"}})
    wait_until(lambda: likes_everywhere(8), what="8 likes in both regions")
    final = wait_converged(regions, name, names=[WEST, EAST])
    assert json.loads(final['{"S": "mysfit"}'])["likes"] == {"N": "8"}

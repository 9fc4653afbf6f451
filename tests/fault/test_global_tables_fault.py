# Fault test of global tables (issue 3): three regions under a random write load (puts,
# updates, deletes, conditional puts, each to a random region) while the test kill -9's a
# replica and restarts it, freezes a region with SIGSTOP/SIGCONT, and cuts a region's links
# (through the regions files the engines re-read) and heals them. Then the load stops and the
# test checks: (1) all replicas are identical; (2) every acknowledged write is there unless a
# write that started after it was acknowledged superseded it (last writer wins); (3) nothing
# appears that no client wrote. Bounded: the whole test stays under 90 s of its own deadline.
import json
import os
import random
import signal
import sys
import threading
import time

import pytest
from botocore.config import Config
from botocore.exceptions import ClientError

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "conformance"))
from multiregion import Deployment, contents, wait_converged, wait_until  # noqa: E402

REGIONS = ["us-west-2", "us-east-1", "eu-west-1"]
KEYS = [f"k{n}" for n in range(30)]
LOAD_SECONDS = 24
WRITERS = 3


class Log:
    """Every write attempt: (key, kind, value id, start, ack) with ack None when unknown."""

    def __init__(self):
        self.mu = threading.Lock()
        self.entries = []

    def add(self, *entry):
        with self.mu:
            self.entries.append(entry)


def writer(deployment, log, stop, seed):
    rnd = random.Random(seed)
    clients = {}
    for r in REGIONS:
        # Short timeouts: a frozen or killed region makes an attempt of unknown outcome.
        clients[r] = deployment[r].client_with(Config(retries={"total_max_attempts": 1},
                                                      connect_timeout=1, read_timeout=2))
    n = 0
    while not stop.is_set():
        region = rnd.choice(REGIONS)
        c = clients[region]
        key = rnd.choice(KEYS)
        n += 1
        wid = f"{region}/{seed}/{n}"
        kind = rnd.choice(["put", "put", "update", "delete", "cond"])
        start = time.monotonic()
        try:
            if kind == "put":
                c.put_item(TableName=TABLE, Item={"p": {"S": key}, "w": {"S": wid}})
            elif kind == "update":
                c.update_item(TableName=TABLE, Key={"p": {"S": key}},
                              UpdateExpression="SET w = :w",
                              ExpressionAttributeValues={":w": {"S": wid}})
            elif kind == "delete":
                # A delete of an item this replica does not hold changes nothing (as in
                # DynamoDB: no stream record, nothing to replicate), so it supersedes nothing:
                # ALL_OLD tells the two apart.
                r = c.delete_item(TableName=TABLE, Key={"p": {"S": key}}, ReturnValues="ALL_OLD")
                if "Attributes" not in r:
                    kind = "noop-delete"
            else:
                c.put_item(TableName=TABLE, Item={"p": {"S": key}, "w": {"S": wid}},
                           ConditionExpression="attribute_not_exists(p)")
            log.add(key, kind, wid, start, time.monotonic())
        except ClientError as e:
            if e.response["Error"]["Code"] == "ConditionalCheckFailedException":
                continue  # checked against the local replica: not a write
            log.add(key, kind, wid, start, None)
        except Exception:
            log.add(key, kind, wid, start, None)  # timeout or refused: outcome unknown
            time.sleep(0.05)


TABLE = "FaultTable"


@pytest.fixture
def deployment():
    d = Deployment(os.environ["MYSFITS_TABLE_BIN"], REGIONS,
                   ["--replication-poll-wait-ms", "200", "--no-sync"])
    yield d
    d.stop()


def test_global_table_survives_kills_freezes_and_partitions(deployment):
    deadline = time.monotonic() + 90
    west = deployment["us-west-2"].client()
    west.create_table(TableName=TABLE, BillingMode="PAY_PER_REQUEST",
                      AttributeDefinitions=[{"AttributeName": "p", "AttributeType": "S"}],
                      KeySchema=[{"AttributeName": "p", "KeyType": "HASH"}])
    for r in REGIONS[1:]:
        west.update_table(TableName=TABLE, ReplicaUpdates=[{"Create": {"RegionName": r}}])
    for r in REGIONS:
        c = deployment[r].client()
        wait_until(lambda: all(x["ReplicaStatus"] == "ACTIVE" for x in
                               c.describe_table(TableName=TABLE)["Table"].get("Replicas", []))
                   and len(c.describe_table(TableName=TABLE)["Table"]["Replicas"]) == 2,
                   timeout=30, what=f"replicas ACTIVE seen from {r}")

    log, stop = Log(), threading.Event()
    threads = [threading.Thread(target=writer, args=(deployment, log, stop, s), daemon=True)
               for s in range(WRITERS)]
    for t in threads:
        t.start()
    try:
        time.sleep(3)
        east = deployment["us-east-1"]
        east.kill(signal.SIGKILL)  # kill -9 at a random moment of the load
        time.sleep(1.5)
        east.start()
        time.sleep(3)
        eu = deployment["eu-west-1"]
        os.kill(eu.proc.pid, signal.SIGSTOP)  # frozen: a region unreachable from the others
        time.sleep(3)
        os.kill(eu.proc.pid, signal.SIGCONT)
        time.sleep(2)
        deployment.cut_off("us-west-2", timeout=20)  # serves its clients, sees no peer
        time.sleep(3)
        deployment.heal("us-west-2")
        remaining = LOAD_SECONDS - 15.5
        time.sleep(max(0.0, remaining))
    finally:
        stop.set()
        for t in threads:
            t.join(timeout=10)

    final = wait_converged(deployment, TABLE, timeout=max(10, deadline - time.monotonic()))
    acked = [e for e in log.entries if e[4] is not None]
    assert len(acked) > 100, "the load did too little to test anything"

    # (3) nothing appears that no one wrote: every value is a write some client attempted.
    attempted = {(e[0], e[2]) for e in log.entries if e[1] not in ("delete", "noop-delete")}
    winners = {}
    for item_json in final.values():
        item = json.loads(item_json)
        key, wid = item["p"]["S"], item["w"]["S"]
        assert (key, wid) in attempted, f"{key}={wid} was never written"
        winners[key] = wid

    # (2) no acknowledged write is lost unless superseded: the surviving state of a key is a
    # write that was not acknowledged before another acknowledged write to it even started.
    by_id = {(e[0], e[2]): e for e in log.entries}
    for key in KEYS:
        mine = [e for e in log.entries if e[0] == key and e[1] != "noop-delete"]
        acked = [e for e in mine if e[4] is not None]
        if not acked:
            continue
        latest = max(acked, key=lambda e: e[3])
        latest_acked_start = latest[3]
        if key in winners:
            w = by_id[(key, winners[key])]
            assert w[4] is None or w[4] >= latest_acked_start, (
                f"{key}: {w[2]} (acknowledged at {w[4]:.3f}) survived although an acknowledged "
                f"{latest[1]} {latest[2]} started later at {latest_acked_start:.3f}")
        else:
            deletes = [e for e in mine if e[1] == "delete" and
                       (e[4] is None or e[4] >= latest_acked_start)]
            assert deletes, f"{key} is missing but no delete can explain it"

# Fault test of a new replica's back-fill (issue 3): kill -9 of the replica in the middle of
# copying a snapshot (pages are written without the write-ahead log until the copy commits),
# then a restart. The replica copies again from the start, comparing with what it already holds,
# and ends identical to the source: same items, same item count, same index contents, and the
# writes made during the back-fill replicated once. Bounded: well under its ctest timeout.
import os
import signal
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "conformance"))
from multiregion import Deployment, contents, wait_converged, wait_until  # noqa: E402

WEST, EAST = "us-west-2", "us-east-1"
ITEMS = 12000  # several snapshot pages (they grow from 1,000 items)


def replicas_of(client, table):
    d = client.describe_table(TableName=table)["Table"]
    return {r["RegionName"]: r["ReplicaStatus"] for r in d.get("Replicas", [])}


def test_kill_during_backfill_restarts_and_converges():
    # Pages 300 ms apart (the copy takes over a second): a fast machine copied all 12,000 items
    # between two looks at the replica's ItemCount, so the test never saw a copy under way.
    d = Deployment(os.environ["MYSFITS_TABLE_BIN"], [WEST, EAST],
                   ["--replication-poll-wait-ms", "200", "--no-sync",
                    "--replica-backfill-page-delay-ms", "300"])
    try:
        west = d[WEST].client()
        name = "BackfillKill"
        west.create_table(
            TableName=name, BillingMode="PAY_PER_REQUEST",
            AttributeDefinitions=[{"AttributeName": "p", "AttributeType": "S"},
                                  {"AttributeName": "g", "AttributeType": "S"}],
            KeySchema=[{"AttributeName": "p", "KeyType": "HASH"}],
            GlobalSecondaryIndexes=[{"IndexName": "ByG",
                                     "KeySchema": [{"AttributeName": "g", "KeyType": "HASH"}],
                                     "Projection": {"ProjectionType": "ALL"}}])
        pad = "x" * 100
        for start in range(0, ITEMS, 25):
            west.batch_write_item(RequestItems={name: [
                {"PutRequest": {"Item": {"p": {"S": f"item{n:06d}"}, "g": {"S": f"g{n % 7}"},
                                         "pad": {"S": pad}}}}
                for n in range(start, min(start + 25, ITEMS))]})
        offset = len(d[EAST].output())
        west.update_table(TableName=name, ReplicaUpdates=[{"Create": {"RegionName": EAST}}])
        east = d[EAST].client()

        # Freeze the source once the replica holds part of the table, so the copy cannot finish
        # before the kill; then kill the replica and thaw the source.
        def partly_copied():
            n = east.describe_table(TableName=name)["Table"]["ItemCount"]
            return 0 < n < ITEMS and n
        copied = wait_until(partly_copied, timeout=120, what="back-fill under way")
        os.kill(d[WEST].proc.pid, signal.SIGSTOP)
        try:
            assert "back-filled" not in d[EAST].output()[offset:]
            d[EAST].kill()  # SIGKILL
        finally:
            os.kill(d[WEST].proc.pid, signal.SIGCONT)
        print(f"killed with {copied} of {ITEMS} items copied")
        d[EAST].start()
        for n in range(20):  # written during the new back-fill
            west.put_item(TableName=name, Item={"p": {"S": f"late{n}"}, "g": {"S": "late"}})
        wait_until(lambda: replicas_of(west, name) == {EAST: "ACTIVE"}, timeout=120,
                   what="replica ACTIVE after the restart")
        final = wait_converged(d, name, timeout=120)
        assert len(final) == ITEMS + 20
        # Stats and index entries were neither lost nor counted twice.
        east = d[EAST].client()
        assert east.describe_table(TableName=name)["Table"]["ItemCount"] == ITEMS + 20
        for g, expect in (("g3", len(range(3, ITEMS, 7))), ("late", 20)):
            n, key = 0, None
            while True:
                kw = {"ExclusiveStartKey": key} if key else {}
                r = east.query(TableName=name, IndexName="ByG", Select="COUNT",
                               KeyConditionExpression="g = :g",
                               ExpressionAttributeValues={":g": {"S": g}}, **kw)
                n += r["Count"]
                key = r.get("LastEvaluatedKey")
                if not key:
                    break
            assert n == expect, g
        assert contents(east, name) == contents(west, name)
    finally:
        d.stop()

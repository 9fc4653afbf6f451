# Fault test of a GSI added by UpdateTable (docs/table.md, "Adding a GSI"): kill -9 of the engine
# in the middle of the index's back-fill (slowed with --index-backfill-page-delay-ms), while
# items are written, overwritten and deleted, then a restart, a SIGTERM (which must not wait for
# the back-fill) and another restart. The back-fill resumes from its
# last committed page; once the index is ACTIVE it holds exactly the items of the table that
# have its key (compared with a Scan of the table), with their current values, and DescribeTable's
# ItemCount of the index agrees. Bounded: every wait has a timeout, and the engine is stopped at
# the end.
import os
import random
import sys
import tempfile

import pytest
from botocore.exceptions import ClientError

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "conformance"))
from multiregion import Region, scan_all, wait_until  # noqa: E402

REGION = "us-west-2"
TABLE = "GsiKill"
ITEMS = 400
PAGE_ITEMS = 10  # 40 pages


def gsi(client, index="ByG"):
    d = client.describe_table(TableName=TABLE)["Table"]
    return {g["IndexName"]: g for g in d.get("GlobalSecondaryIndexes", [])}.get(index)


def item(n, rng):
    it = {"p": {"S": f"item{n:05d}"}, "v": {"N": str(rng.randrange(1000))}}
    if n % 7:  # every seventh item lacks the index key: not in the index
        it["g"] = {"S": f"g{rng.randrange(5)}"}
    return it


def query_all(client, g):
    out = []
    kwargs = {"TableName": TABLE, "IndexName": "ByG", "KeyConditionExpression": "g = :g",
              "ExpressionAttributeValues": {":g": {"S": g}}}
    while True:
        page = client.query(**kwargs)
        out += page["Items"]
        if "LastEvaluatedKey" not in page:
            return out
        kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]


def churn(client, rng, count):
    """Writes, overwrites and deletes `count` random items (new ones among them)."""
    for _ in range(count):
        n = rng.randrange(ITEMS + 100)
        if rng.random() < 0.25:
            client.delete_item(TableName=TABLE, Key={"p": {"S": f"item{n:05d}"}})
        else:
            client.put_item(TableName=TABLE, Item=item(n, rng))


def test_kill_during_gsi_backfill_resumes_and_index_is_exact():
    rng = random.Random(7)
    with tempfile.TemporaryDirectory(prefix="mysfits-gsi-kill-") as root:
        engine = Region(REGION, os.environ["MYSFITS_TABLE_BIN"], root,
                        ["--index-backfill-page-items", str(PAGE_ITEMS),
                         "--index-backfill-page-delay-ms", "300"])
        with open(engine.regions_file, "w") as f:
            f.write('{"%s": "http://127.0.0.1:1"}' % REGION)
        try:
            engine.start()
            c = engine.client()
            c.create_table(TableName=TABLE, BillingMode="PAY_PER_REQUEST",
                           AttributeDefinitions=[{"AttributeName": "p", "AttributeType": "S"}],
                           KeySchema=[{"AttributeName": "p", "KeyType": "HASH"}])
            for n in range(ITEMS):
                c.put_item(TableName=TABLE, Item=item(n, rng))
            c.update_table(
                TableName=TABLE,
                AttributeDefinitions=[{"AttributeName": "g", "AttributeType": "S"}],
                GlobalSecondaryIndexUpdates=[{"Create": {
                    "IndexName": "ByG", "KeySchema": [{"AttributeName": "g", "KeyType": "HASH"}],
                    "Projection": {"ProjectionType": "ALL"}}}])
            # Some pages in (the index has entries), not all (40 pages, 300 ms apart).
            wait_until(lambda: gsi(c)["ItemCount"] > 0, timeout=60, what="a first page")
            churn(c, rng, 60)
            status = gsi(c)
            assert status["IndexStatus"] == "CREATING" and status["Backfilling"] is True, status
            with pytest.raises(ClientError) as e:
                query_all(c, "g0")
            assert e.value.response["Error"]["Code"] == "ValidationException"
            engine.kill()
            print(f"killed with {status['ItemCount']} items indexed")

            # Restarted with pages 2 s apart (over a minute of back-fill left), then SIGTERM: the
            # engine stops between two pages instead of finishing the back-fill (Region.stop
            # would kill it after 30 s: exit code 0 shows it stopped by itself).
            resumed = ("back-fill of index ByG of table GsiKill resumes after its last committed "
                       "page")
            engine.extra_args = ["--index-backfill-page-items", str(PAGE_ITEMS),
                                 "--index-backfill-page-delay-ms", "2000"]
            engine.start()
            c = engine.client()
            churn(c, rng, 30)
            assert gsi(c)["IndexStatus"] == "CREATING"
            engine.stop()
            assert engine.proc.returncode == 0, engine.output()[-4000:]

            engine.extra_args = ["--index-backfill-page-items", str(PAGE_ITEMS),
                                 "--index-backfill-page-delay-ms", "20"]
            engine.start()
            c = engine.client()
            # Resumed from its persisted progress (both times) rather than started over. (Waited
            # for: the line is logged by the back-fill's thread, which may not have run yet.)
            wait_until(lambda: engine.output().count(resumed) == 2, timeout=30,
                       what="the back-fill resumed again")
            assert engine.output().count(resumed) == 2
            churn(c, rng, 60)
            wait_until(lambda: gsi(c)["IndexStatus"] == "ACTIVE", timeout=180,
                       what="the index ACTIVE after the restart")
            assert "Backfilling" not in gsi(c)

            items = scan_all(c, TABLE)
            expected = sorted((i["g"]["S"], i["p"]["S"], i["v"]["N"]) for i in items if "g" in i)
            got = sorted((i["g"]["S"], i["p"]["S"], i["v"]["N"])
                         for g in range(5) for i in query_all(c, f"g{g}"))
            assert got == expected
            assert gsi(c)["ItemCount"] == len(expected)
            assert len(expected) > ITEMS // 2  # the premise: a sizeable index
            print(f"index exact: {len(expected)} items")
        except BaseException:
            print(engine.output()[-8000:])  # the engine's side of a failure
            raise
        finally:
            engine.stop()

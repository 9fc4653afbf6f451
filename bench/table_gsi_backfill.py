#!/usr/bin/env python3
# GSI back-fill (docs/table.md, "Adding a GSI"): a table of N items (~230 bytes), then
# UpdateTable adding an ALL index while one client keeps writing. Prints how long UpdateTable
# took to answer, the time until the index is ACTIVE, and PutItem latency before and during the
# back-fill. Starts its own mysfits-table on 127.0.0.1 (port 0) and a temporary data dir, and
# stops it by its pid.
#
# Usage: bench/table_gsi_backfill.py BINARY [N]   (BINARY: a mysfits-table, N default 50000)
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

import boto3
from botocore.config import Config


def main():
    binary = sys.argv[1]
    n_items = int(sys.argv[2]) if len(sys.argv) > 2 else 50000
    d = tempfile.mkdtemp(prefix="gsi-bench-")
    log_path = os.path.join(d, "log")
    with open(log_path, "w") as log:
        p = subprocess.Popen([binary, "serve", "--listen", "127.0.0.1:0", "--data-dir",
                              os.path.join(d, "data")], stdout=log, stderr=subprocess.STDOUT,
                             stdin=subprocess.DEVNULL)
    try:
        url = None
        deadline = time.monotonic() + 60
        while not url and time.monotonic() < deadline:
            with open(log_path) as f:
                m = re.search(r"listening on (http://\S+)", f.read())
            url = m.group(1) if m else None
            time.sleep(0.1)
        if not url:
            sys.exit("mysfits-table did not start")
        c = boto3.client("dynamodb", endpoint_url=url, region_name="us-west-2",
                         aws_access_key_id="bench", aws_secret_access_key="bench",
                         config=Config(retries={"total_max_attempts": 1}))
        table = "GsiBench"
        c.create_table(TableName=table, BillingMode="PAY_PER_REQUEST",
                       AttributeDefinitions=[{"AttributeName": "p", "AttributeType": "S"}],
                       KeySchema=[{"AttributeName": "p", "KeyType": "HASH"}])
        pad = "x" * 200
        for s in range(0, n_items, 25):
            c.batch_write_item(RequestItems={table: [{"PutRequest": {"Item": {
                "p": {"S": f"i{n:07d}"}, "g": {"S": f"g{n % 100}"}, "v": {"S": pad}}}}
                for n in range(s, min(n_items, s + 25))]})

        def puts(k, tag):
            lat = []
            for n in range(k):
                t0 = time.monotonic()
                c.put_item(TableName=table, Item={"p": {"S": f"w{tag}-{n}"}, "g": {"S": "g1"}})
                lat.append(time.monotonic() - t0)
            return lat

        before = puts(300, "before")
        t0 = time.monotonic()
        c.update_table(TableName=table,
                       AttributeDefinitions=[{"AttributeName": "g", "AttributeType": "S"}],
                       GlobalSecondaryIndexUpdates=[{"Create": {
                           "IndexName": "ByG", "KeySchema": [{"AttributeName": "g",
                                                              "KeyType": "HASH"}],
                           "Projection": {"ProjectionType": "ALL"}}}])
        answered = time.monotonic() - t0
        during = []
        round_ = 0
        while True:
            g = c.describe_table(TableName=table)["Table"]["GlobalSecondaryIndexes"][0]
            if g["IndexStatus"] == "ACTIVE":
                break
            during += puts(20, f"during{round_}")
            round_ += 1
        active = time.monotonic() - t0

        def q(lat):
            lat = sorted(lat)
            return (statistics.median(lat) * 1000, lat[max(0, int(len(lat) * 0.99) - 1)] * 1000,
                    lat[-1] * 1000, len(lat))
        print(f"N={n_items}: UpdateTable answered in {answered * 1000:.1f} ms, index ACTIVE after "
              f"{active:.2f} s ({n_items / active:.0f} items/s), its ItemCount {g['ItemCount']}")
        print("PutItem before the back-fill p50 / p99 / max ms: %.2f / %.2f / %.2f (n=%d)"
              % q(before))
        if during:
            print("PutItem during the back-fill p50 / p99 / max ms: %.2f / %.2f / %.2f (n=%d)"
                  % q(during))
    finally:
        p.terminate()
        p.wait(timeout=60)
        shutil.rmtree(d, ignore_errors=True)


if __name__ == "__main__":
    main()

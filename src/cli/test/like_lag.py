#!/usr/bin/env python3
"""Replication lag of a like, as a user sees it (issue 6: "a like through the accelerator is
visible through the secondary region's load balancer within a second").

Posts one like through the accelerator, then polls every other region's load balancer until the
mysfit's count there reaches the count the like answered, and prints one line per region:
  FIGURE like_visible_ms <region> <milliseconds from the like's answer to its visibility>
Exits 1 when a region does not show the like within TIMEOUT seconds (tests assert visibility,
never the figure). Loopback URLs only; every request has a deadline.

Usage: like_lag.py ACCELERATOR_URL MYSFIT_ID TIMEOUT_SECONDS REGION=LB_URL [REGION=LB_URL ...]
"""
import json
import sys
import time
import urllib.request


def likes(url, method="GET"):
    req = urllib.request.Request(url, method=method, data=b"" if method == "POST" else None)
    with urllib.request.urlopen(req, timeout=5) as r:
        return int(json.load(r)["likes"])


def main():
    if len(sys.argv) < 5:
        print(__doc__, file=sys.stderr)
        return 2
    acc, mysfit, timeout = sys.argv[1], sys.argv[2], float(sys.argv[3])
    regions = dict(a.split("=", 1) for a in sys.argv[4:])
    expected = likes(f"{acc}/mysfits/{mysfit}/like", "POST")
    liked_at = time.monotonic()
    pending = dict(regions)
    seen = {}
    deadline = liked_at + timeout
    while pending and time.monotonic() < deadline:
        for region, lb in list(pending.items()):
            try:
                seen[region] = likes(f"{lb}/mysfits/{mysfit}")
            except Exception as e:  # a refused or slow read is retried until the deadline
                seen[region] = f"error: {e}"
                continue
            if seen[region] >= expected:
                ms = (time.monotonic() - liked_at) * 1000
                print(f"FIGURE like_visible_ms {region} {ms:.0f}", flush=True)
                del pending[region]
        time.sleep(0.01)
    for region in pending:
        print(f"NOT VISIBLE: {region} shows {seen.get(region)!r} likes, expected {expected} "
              f"within {timeout:g} s")
    return 1 if pending else 0


if __name__ == "__main__":
    sys.exit(main())

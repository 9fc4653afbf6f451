#!/usr/bin/env python3
"""Integration test of the Mysfits app: starts the table engine (or uses --endpoint), seeds it
with `mysfits-core seed`, starts mysfits-core and mysfits-like as real processes on 127.0.0.1
port 0, and checks every route and error of issue 4. Bounded in time; stops what it started."""
import argparse
import concurrent.futures
import http.client
import http.server
import threading
import json
import os
import re
import signal
import subprocess
import sys
import tempfile
import time
import uuid

EVANGELINE = "4e53920c-505a-4a90-a694-b9300791f0ae"
COLE = "33e1fbd4-2fd8-45fb-a42f-f92551694506"
FIELDS = {"mysfitId", "name", "species", "description", "age", "goodevil", "lawchaos",
          "thumbImageUri", "profileImageUri", "likes", "adopted"}

procs = []
failures = []


def check(cond, what):
    print(("ok   " if cond else "FAIL ") + what, flush=True)
    if not cond:
        failures.append(what)


def start(cmd, env, name, pattern=r"listening on http://[0-9.]+:(\d+)"):
    """Starts a process and waits (up to 20 s) for its 'listening on' line; returns (proc, port)."""
    p = subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=None, text=True)
    procs.append(p)
    deadline = time.time() + 20
    while time.time() < deadline:
        line = p.stdout.readline()
        if not line:
            if p.poll() is not None:
                raise RuntimeError(f"{name} exited with {p.returncode} before listening")
            continue
        m = re.search(pattern, line)
        if m:
            return p, int(m.group(1))
    raise RuntimeError(f"{name} did not print its port in time")


def request(port, method, path, body=None, headers=None, timeout=15):
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    c.request(method, path, body=body, headers=headers or {})
    r = c.getresponse()
    data = r.read()
    c.close()
    return r.status, dict((k.lower(), v) for k, v in r.getheaders()), data


def jrequest(port, method, path, **kw):
    status, headers, data = request(port, method, path, **kw)
    try:
        return status, headers, json.loads(data)
    except ValueError:
        return status, headers, None


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--core", required=True)
    ap.add_argument("--like", required=True)
    ap.add_argument("--table", help="mysfits-table binary to start")
    ap.add_argument("--endpoint", help="use this running DynamoDB-compatible endpoint instead")
    args = ap.parse_args()

    work = tempfile.mkdtemp(prefix="mysfits-app-it-")
    if args.table:
        # The engine checks SigV4 with these keys, so every call also proves the client signs right.
        _, tport = start([args.table, "serve", "--listen", "127.0.0.1:0", "--data-dir",
                          os.path.join(work, "table"), "--region", "us-west-2",
                          "--access-key-id", "test", "--secret-access-key", "test"],
                         dict(os.environ), "mysfits-table")
        endpoint = f"http://127.0.0.1:{tport}"
    else:
        endpoint = args.endpoint
    table_name = "MysfitsTable" if args.table else "MysfitsTable-" + uuid.uuid4().hex[:8]
    env = dict(os.environ, AWS_REGION="us-west-2", AWS_ENDPOINT_URL_DYNAMODB=endpoint,
               AWS_ACCESS_KEY_ID="test", AWS_SECRET_ACCESS_KEY="test",
               DDB_TABLE_NAME=table_name, BIND_ADDRESS="127.0.0.1", PORT="0",
               HOME=work)

    # Seeding creates the table and loads twelve; a second run changes nothing.
    s1 = subprocess.run([args.core, "seed"], env=env, capture_output=True, text=True, timeout=90)
    check(s1.returncode == 0 and "12 inserted" in s1.stdout, "first seed inserts twelve: " + s1.stdout.strip() + s1.stderr[-300:])
    s2 = subprocess.run([args.core, "seed"], env=env, capture_output=True, text=True, timeout=90)
    check(s2.returncode == 0 and "0 inserted, 12 already present" in s2.stdout, "second seed is idempotent: " + s2.stdout.strip())

    core, cport = start([args.core], env, "mysfits-core")
    like, lport = start([args.like], env, "mysfits-like")

    st, h, page = request(cport, "GET", "/")
    check(st == 200 and b"us-west-2" in page and h.get("content-type", "").startswith("text/html"), "GET / serves the page with the region")
    for asset in ("/app.js", "/app.css", "/img/kraken.svg"):
        check(request(cport, "GET", asset)[0] == 200, f"GET {asset}")

    st, h, body = jrequest(cport, "GET", "/mysfits")
    mysfits = body["mysfits"] if body else []
    check(st == 200 and len(mysfits) == 12, f"GET /mysfits lists twelve (got {len(mysfits)})")
    check(all(set(m) == FIELDS for m in mysfits), "every mysfit has exactly the original fields")
    check(h.get("access-control-allow-origin") == "*", "CORS header on /mysfits")

    for f, v, n in (("GoodEvil", "Evil", 4), ("GoodEvil", "Good", 4), ("LawChaos", "Lawful", 3),
                    ("LawChaos", "Chaotic", 4)):
        st, _, body = jrequest(cport, "GET", f"/mysfits?filter={f}&value={v}")
        got = body["mysfits"] if body else []
        check(st == 200 and len(got) == n and all(m[f.lower()] == v for m in got),
              f"filter {f}={v} gives {n} (got {len(got)})")
    for q in ("/mysfits?filter=Species&value=Dragon", "/mysfits?filter=GoodEvil"):
        st, h, body = jrequest(cport, "GET", q)
        check(st == 400 and body and "message" in body, f"GET {q} is 400 JSON")

    st, _, body = jrequest(cport, "GET", f"/mysfits/{EVANGELINE}")
    check(st == 200 and body["name"] == "Evangeline" and body["age"] == 43, "GET /mysfits/{id}")
    check(jrequest(cport, "GET", "/mysfits/0000-unknown")[0] == 404, "unknown id is 404")
    check(jrequest(cport, "GET", "/mysfits/bad%20id")[0] == 400, "invalid id is 400")

    # Likes through the like service (and the core service's fallback route) add one each.
    trace = "Root=1-5759e988-bd862e3fe1be46a994272793"
    st, h, body = jrequest(lport, "POST", f"/mysfits/{COLE}/like", headers={"X-Amzn-Trace-Id": trace})
    check(st == 200 and body["likes"] == 1, f"like via like service gives 1 (got {st} {body})")
    check(h.get("x-amzn-trace-id") == trace, "trace id comes back on the response")
    st, _, body = jrequest(cport, "POST", f"/mysfits/{COLE}/like")
    check(st == 200 and body["likes"] == 2, "like via core service gives 2")
    _, _, body = jrequest(cport, "GET", f"/mysfits/{COLE}")
    check(body and body["likes"] == 2, "GET shows two likes")
    # Request deadlines (X-Edge-Deadline, epoch ms): a write whose deadline has passed is refused
    # (504, marked, JSON) and applied nowhere; one still in time is applied.
    for port, name in ((lport, "like service"), (cport, "core service")):
        st, h, body = jrequest(port, "POST", f"/mysfits/{COLE}/like",
                               headers={"X-Edge-Deadline": "1000"})
        check(st == 504 and h.get("x-edge-error") == "deadline-expired" and body
              and "message" in body, f"{name}: a like past its deadline is 504 (got {st} {h})")
    st, h, body = jrequest(cport, "POST", f"/mysfits/{COLE}/adopt",
                           headers={"X-Edge-Deadline": "1000"})
    check(st == 504, f"an adoption past its deadline is 504 (got {st})")
    _, _, body = jrequest(cport, "GET", f"/mysfits/{COLE}")
    check(body and body["likes"] == 2 and body["adopted"] is False,
          f"nothing applied past the deadline (got {body})")
    st, _, body = jrequest(lport, "POST", f"/mysfits/{COLE}/like",
                           headers={"X-Edge-Deadline": str(int(time.time() * 1000) + 60000)})
    check(st == 200 and body["likes"] == 3, f"a like within its deadline is applied (got {st} {body})")
    st, _, body = jrequest(cport, "POST", f"/mysfits/{COLE}/like")
    check(st == 200 and body["likes"] == 4, "and one without a deadline")
    check(jrequest(lport, "POST", "/mysfits/0000-unknown/like")[0] == 404, "like of unknown id is 404")
    check(jrequest(lport, "POST", "/mysfits/bad!id/like")[0] == 400, "like of invalid id is 400")
    st, _, body = jrequest(lport, "GET", "/")
    check(st == 200 and body.get("status") == "healthy", "like service health check")

    st, _, body = jrequest(cport, "POST", f"/mysfits/{EVANGELINE}/adopt")
    check(st == 200 and body.get("adopted") is True, "first adoption succeeds")
    check(jrequest(cport, "POST", f"/mysfits/{EVANGELINE}/adopt")[0] == 409, "second adoption is 409")
    check(jrequest(cport, "POST", "/mysfits/0000-unknown/adopt")[0] == 404, "adopting unknown id is 404")

    # Concurrent likes (the services add a burst of likes of one mysfit with one ADD Likes :n):
    # every like is counted exactly once, and each answer carries a count of its own, as if the
    # likes had been applied one by one; concurrent list requests all get the full list.
    _, _, body = jrequest(cport, "GET", f"/mysfits/{EVANGELINE}")
    before = body["likes"]
    n = 240
    with concurrent.futures.ThreadPoolExecutor(max_workers=32) as pool:
        likes = list(pool.map(lambda i: jrequest(lport if i % 2 else cport, "POST",
                                                 f"/mysfits/{EVANGELINE}/like"), range(n)))
        lists = list(pool.map(lambda i: jrequest(cport, "GET", "/mysfits"), range(64)))
    check(all(st == 200 for st, _, _ in likes), "every concurrent like is 200")
    counts = sorted(b["likes"] for _, _, b in likes)
    check(counts == list(range(before + 1, before + n + 1)),
          f"concurrent likes each got their own count ({counts[:3]}..{counts[-3:]})")
    _, _, body = jrequest(cport, "GET", f"/mysfits/{EVANGELINE}")
    check(body and body["likes"] == before + n, f"all {n} concurrent likes counted (got {body})")
    check(all(st == 200 and len(b["mysfits"]) == 12 for st, _, b in lists),
          "every concurrent list request gets twelve")

    st, h, body = jrequest(cport, "GET", "/no/such/route")
    check(st == 404 and body and "message" in body, "unknown route is 404 JSON")
    st, h, body = jrequest(cport, "DELETE", "/mysfits")
    check(st == 405 and body and "message" in body, "wrong method is 405 JSON")
    check(jrequest(lport, "GET", f"/mysfits/{COLE}/like")[0] == 405, "GET on like is 405")
    st, _, _ = request(cport, "POST", f"/mysfits/{COLE}/like", body=b"x" * 200000)
    check(st == 413, f"oversized body is 413 (got {st})")

    for port, name in ((cport, "core"), (lport, "like")):
        st, _, text = request(port, "GET", "/metrics")
        check(st == 200 and b'mysfits_http_requests_total{service="' + name.encode() in text,
              f"{name} /metrics counts requests")

    # Chaos mode fails on purpose, both ways, and still likes sometimes.
    chaos, chport = start([args.like], dict(env, CHAOSMODE="on"), "mysfits-like chaos")
    codes = [jrequest(chport, "POST", f"/mysfits/{COLE}/like")[0] for _ in range(60)]
    check(codes.count(500) > 0 and codes.count(404) > 0 and codes.count(200) > 0,
          f"chaos mode mixes 500/404/200 ({codes.count(500)}/{codes.count(404)}/{codes.count(200)})")

    # A table that cannot be reached is a 503 JSON error, quickly, never a hang.
    dead_env = dict(env, AWS_ENDPOINT_URL_DYNAMODB="http://127.0.0.1:1")
    dead, dport = start([args.core], dead_env, "mysfits-core without table")
    t0 = time.time()
    st, _, body = jrequest(dport, "GET", "/mysfits")
    check(st == 503 and body and "message" in body, "unreachable table is 503 JSON")
    check(time.time() - t0 < 15, "503 comes back within the client's bounded retries")

    # A wrong secret is refused by the table; the service answers with a JSON error, not a crash.
    bad, bport = start([args.core], dict(env, AWS_SECRET_ACCESS_KEY="wrong"), "mysfits-core bad key")
    st, _, body = jrequest(bport, "GET", "/mysfits")
    if args.table:
        check(st == 500 and body and "message" in body, f"table refusing the signature gives 500 JSON (got {st} {body})")

    # SIGTERM during a request: the request still gets its answer, then the process exits 0.
    # A stand-in table that takes a second to answer Scan makes the request be in flight.
    class SlowTable(http.server.BaseHTTPRequestHandler):
        def do_POST(self):
            self.rfile.read(int(self.headers.get("Content-Length", 0)))
            time.sleep(1.0)
            body = b'{"Items":[],"Count":0}'
            self.send_response(200)
            self.send_header("Content-Type", "application/x-amz-json-1.0")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *a):
            pass

    slow = http.server.ThreadingHTTPServer(("127.0.0.1", 0), SlowTable)
    threading.Thread(target=slow.serve_forever, daemon=True).start()
    inflight, iport = start([args.core], dict(env, AWS_ENDPOINT_URL_DYNAMODB=f"http://127.0.0.1:{slow.server_address[1]}"),
                            "mysfits-core slow table")
    answer = {}
    t = threading.Thread(target=lambda: answer.update(r=jrequest(iport, "GET", "/mysfits")))
    t.start()
    time.sleep(0.3)
    inflight.send_signal(signal.SIGTERM)
    t.join(timeout=15)
    rc = inflight.wait(timeout=15)
    st, _, body = answer.get("r", (None, None, None))
    check(st == 200 and body == {"mysfits": []} and rc == 0,
          f"in-flight request finishes after SIGTERM (status {st}, exit {rc})")
    slow.shutdown()

    # SIGTERM stops the services cleanly.
    for p, name in ((core, "core"), (like, "like"), (chaos, "like chaos"), (dead, "core no table"),
                    (bad, "core bad key")):
        p.send_signal(signal.SIGTERM)
        try:
            rc = p.wait(timeout=15)
        except subprocess.TimeoutExpired:
            rc = None
        check(rc == 0, f"{name} exits 0 on SIGTERM (rc={rc})")


if __name__ == "__main__":
    try:
        main()
    except Exception as e:  # noqa: BLE001 - report and fail
        failures.append(repr(e))
        print("FAIL", repr(e), flush=True)
    finally:
        for p in procs:
            if p.poll() is None:
                p.kill()
                p.wait(timeout=10)
    print(f"{len(failures)} failure(s)")
    sys.exit(1 if failures else 0)

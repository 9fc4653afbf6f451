# Several mysfits-table engines, one per region, on 127.0.0.1 port 0 with a regions file each
# (global tables, issue 3). Ports are only known once the engines print them, so each engine
# starts with a placeholder regions file that is then rewritten with the real URLs: engines
# re-read their regions file when it changes. The same rewrite cuts a region off (its peers'
# URLs point at a closed port) and heals it — a link the test controls, without root.
# Used by test_global_tables.py and tests/fault/global_tables_fault_test.py.
import json
import os
import re
import signal
import subprocess
import tempfile
import time
import urllib.request

import boto3
from botocore.config import Config

KEY_ID = "mysfitsconformance"
SECRET = "mysfitsconformancesecret"
DEAD_URL = "http://127.0.0.1:1"  # port 1: connection refused, a cut link


class Region:
    def __init__(self, name, binary, root, extra_args, prefix=()):
        self.name = name
        self.binary = binary
        self.prefix = list(prefix)  # a command the engine runs under (e.g. nsenter …)
        self.data_dir = os.path.join(root, name, "data")
        self.regions_file = os.path.join(root, name, "regions.json")
        self.log_path = os.path.join(root, name, "server.log")
        self.extra_args = list(extra_args)
        os.makedirs(os.path.dirname(self.regions_file), exist_ok=True)
        self.proc = None
        self.url = None
        self.port = 0

    def start(self, wait=60):
        # A restart keeps the port it had, so the peers' regions files stay right.
        listen = f"127.0.0.1:{self.port}"
        pattern = re.compile(r"mysfits-table listening on (http://127\.0\.0\.1:(\d+))")
        # The log is appended to across restarts: only a line this start adds counts.
        earlier = len(pattern.findall(self.output())) if os.path.exists(self.log_path) else 0
        if getattr(self, "log", None):
            self.log.close()  # a restart after kill()
        self.log = open(self.log_path, "a")
        self.proc = subprocess.Popen(
            [*self.prefix, self.binary, "serve", "--listen", listen, "--data-dir", self.data_dir,
             "--region", self.name, "--regions-file", self.regions_file,
             "--access-key-id", KEY_ID, "--secret-access-key", SECRET, *self.extra_args],
            stdout=self.log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
        deadline = time.monotonic() + wait
        while time.monotonic() < deadline:
            with open(self.log_path) as f:
                found = pattern.findall(f.read())
            if len(found) > earlier and (self.port == 0 or int(found[-1][1]) == self.port):
                self.url, port = found[-1]
                self.port = int(port)
                return
            if self.proc.poll() is not None:
                break
            time.sleep(0.05)
        raise RuntimeError(f"{self.name} did not start:\n{self.output()[-4000:]}")

    def output(self):
        with open(self.log_path) as f:
            return f.read()

    def kill(self, sig=signal.SIGKILL):
        if self.proc and self.proc.poll() is None:
            os.kill(self.proc.pid, sig)
            self.proc.wait(timeout=30)

    def stop(self):
        if self.proc and self.proc.poll() is None:
            os.kill(self.proc.pid, signal.SIGCONT)  # in case a test left it stopped
            os.kill(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.kill(self.proc.pid, signal.SIGKILL)
                self.proc.wait(timeout=10)
        if getattr(self, "log", None):
            self.log.close()

    def client(self):
        return boto3.Session(aws_access_key_id=KEY_ID, aws_secret_access_key=SECRET,
                             region_name=self.name).client(
            "dynamodb", endpoint_url=self.url,
            config=Config(retries={"total_max_attempts": 1}, connect_timeout=10,
                          read_timeout=60))

    def client_with(self, config):
        return boto3.Session(aws_access_key_id=KEY_ID, aws_secret_access_key=SECRET,
                             region_name=self.name).client("dynamodb", endpoint_url=self.url,
                                                           config=config)

    def metrics(self):
        with urllib.request.urlopen(self.url + "/metrics", timeout=30) as r:
            return r.read().decode()


class Deployment:
    """Engines for `names`, each started with its own regions file naming all of them.
    `prepare(region)`, if given, runs for each region before its first start (it may set
    region.prefix, e.g. to run that engine in a namespace of its own)."""

    def __init__(self, binary, names, extra_args=(), prepare=None):
        self.tmp = tempfile.TemporaryDirectory(prefix="mysfits-global-")
        self.regions = {n: Region(n, binary, self.tmp.name, extra_args) for n in names}
        self.cut = set()
        for r in self.regions.values():
            self._write(r, {n: DEAD_URL for n in names})
        try:
            for r in self.regions.values():
                if prepare:
                    prepare(r)
                r.start()
            self.write_regions_files()
        except Exception:
            self.stop()
            raise

    def __getitem__(self, name):
        return self.regions[name]

    def _write(self, region, mapping):
        tmp = region.regions_file + ".tmp"
        with open(tmp, "w") as f:
            json.dump(mapping, f)
        os.replace(tmp, region.regions_file)

    def write_regions_files(self):
        """Every region's file names every other's real URL, except across cut links; returns
        once every running engine has re-read its file."""
        before = {n: r.output().count("regions in ") for n, r in self.regions.items()}
        for r in self.regions.values():
            mapping = {}
            for n, other in self.regions.items():
                linked = n == r.name or (r.name not in self.cut and n not in self.cut)
                mapping[n] = other.url if linked else DEAD_URL
            self._write(r, mapping)
        for n, r in self.regions.items():
            if r.proc and r.proc.poll() is None:
                wait_until(lambda: r.output().count("regions in ") > before[n], timeout=30,
                           what=f"{n} re-reads its regions file")

    def cut_off(self, name, timeout=60, among=None):
        """Cuts every link of region `name`; returns once no side pulls across the links
        between `among` (default: all regions; pass those sharing a table with it)."""
        self.cut.add(name)
        self.write_regions_files()
        among = among or list(self.regions)
        for r in (self.regions[n] for n in among):
            peers = [p for p in among if p != r.name and (r.name == name or p == name)]
            for p in peers:
                wait_until(lambda: link_up(r, p) == 0, timeout=timeout,
                           what=f"link {r.name} <- {p} down")

    def heal(self, name):
        self.cut.discard(name)
        self.write_regions_files()

    def stop(self):
        for r in self.regions.values():
            r.stop()
        self.tmp.cleanup()


def metric_value(text, name, labels):
    """The value of series `name{labels}` in Prometheus text, or None."""
    want = name + "{" + ",".join(f'{k}="{v}"' for k, v in labels.items()) + "}"
    for line in text.splitlines():
        if line.startswith(want + " "):
            return float(line.split()[-1])
    return None


def link_up(region, peer):
    return metric_value(region.metrics(), "mysfits_table_replication_link_up",
                        {"region": region.name, "peer": peer})


def scan_all(client, table):
    items, kwargs = [], {"TableName": table, "ConsistentRead": True}
    while True:
        page = client.scan(**kwargs)
        items.extend(page.get("Items", []))
        if "LastEvaluatedKey" not in page:
            return items
        kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]


def contents(client, table, key="p"):
    return {json.dumps(i[key], sort_keys=True): json.dumps(i, sort_keys=True)
            for i in scan_all(client, table)}


def wait_until(predicate, timeout=60, what="condition"):
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        try:
            last = predicate()
            if last:
                return last
        except Exception as e:  # a region may be restarting: keep waiting
            last = e
        time.sleep(0.2)
    raise AssertionError(f"timed out waiting for {what} (last: {last!r})")


def wait_converged(deployment, table, names=None, timeout=90):
    names = names or list(deployment.regions)
    clients = {n: deployment[n].client() for n in names}

    # An empty table is converged too: compare explicitly rather than by truthiness.
    deadline = time.monotonic() + timeout
    while True:
        try:
            views = [contents(clients[n], table) for n in names]
            if all(v == views[0] for v in views):
                return views[0]
        except Exception:
            pass
        if time.monotonic() > deadline:
            raise AssertionError(f"replicas of {table} did not converge in {timeout} s")
        time.sleep(0.3)

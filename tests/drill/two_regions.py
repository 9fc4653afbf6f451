#!/usr/bin/env python3
"""A small two-region Mysfits system on loopback, started WITHOUT `mysfits up`, for the drill
and dashboard tests (issue 7).

Per region: one mysfits-table, one mysfits-core and one mysfits-like task, one mysfits-edge load
balancer (`/mysfits/*/like` -> like, default -> core); in front, one mysfits-edge accelerator in
HTTP mode with an endpoint group per region (primary first). Every port is chosen by the OS
(port 0, read back from the process's first line). Writes <work>/system.json in the shape
`mysfits up` writes (plus "tasks" and "restart" so the drill can kill and restart processes).

Replication between the two tables needs the global-tables engine: when `mysfits-table serve
--help` offers --regions-file, the harness writes one, seeds the primary and asks for a replica
in the secondary (UpdateTable ReplicaUpdates); otherwise it seeds both tables separately and
the likes of the two regions never converge (the drill then reports it).

As a program: `two_regions.py --bin-dir ... --work DIR` starts the system, prints
`ready <system.json>` and runs until stdin closes or SIGTERM, then stops everything it started.
"""
import argparse
import json
import os
import re
import signal
import subprocess
import sys
import tempfile
import time
import urllib.request

REGIONS = ["us-west-2", "us-east-1"]
TABLE = "MysfitsTable"


class System:
    def __init__(self, bins, work, threads=2, sync=False):
        self.bins = bins
        self.work = os.path.abspath(work)
        self.threads = threads
        self.sync = sync
        self.procs = []  # Popen objects we started
        self.system_file = os.path.join(self.work, "system.json")
        self.replication = False

    # -- process plumbing ------------------------------------------------------------------
    def _start(self, name, argv, env=None, pattern=r"listening on http://[0-9.]+:(\d+)"):
        log = open(os.path.join(self.work, name + ".log"), "ab")
        full_env = dict(os.environ)
        full_env.update(env or {})
        p = subprocess.Popen(argv, env=full_env, stdout=subprocess.PIPE, stderr=log,
                             stdin=subprocess.DEVNULL, start_new_session=True)
        self.procs.append(p)
        lines = []
        deadline = time.time() + 60
        ports = []
        need = 2 if pattern == "edge" else 1
        while time.time() < deadline and len(ports) < need:
            line = p.stdout.readline().decode(errors="replace")
            if not line:
                raise RuntimeError(f"{name} exited early: {''.join(lines)} (see {log.name})")
            lines.append(line)
            if pattern == "edge":
                m = re.match(r"(listener|control) http://[0-9.]+:(\d+)", line)
                if m:
                    ports.append(int(m.group(2)))
            else:
                m = re.search(pattern, line)
                if m:
                    ports.append(int(m.group(1)))
        if len(ports) < need:
            raise RuntimeError(f"{name} did not print its port(s): {lines}")
        # Keep draining stdout so the process never blocks on a full pipe.
        subprocess.Popen(["cat"], stdin=p.stdout, stdout=log, start_new_session=True)
        return p, ports

    def _env(self, region, table_port):
        return {"AWS_REGION": region, "AWS_ENDPOINT_URL_DYNAMODB": f"http://127.0.0.1:{table_port}",
                "AWS_ACCESS_KEY_ID": "test", "AWS_SECRET_ACCESS_KEY": "test",
                "DDB_TABLE_NAME": TABLE, "BIND_ADDRESS": "127.0.0.1", "MYSFITS_THREADS": "4",
                "HOME": self.work}

    def _ddb(self, port, op, body):
        req = urllib.request.Request(f"http://127.0.0.1:{port}/", data=json.dumps(body).encode(),
                                     headers={"X-Amz-Target": "DynamoDB_20120810." + op,
                                              "Content-Type": "application/x-amz-json-1.0"})
        try:
            with urllib.request.urlopen(req, timeout=5) as r:
                return r.status, json.loads(r.read() or b"{}")
        except urllib.error.HTTPError as e:
            return e.code, json.loads(e.read() or b"{}")

    def _item_count(self, port):
        status, body = self._ddb(port, "Scan", {"TableName": TABLE, "Select": "COUNT"})
        return body.get("Count", 0) if status == 200 else -1

    @staticmethod
    def _write_regions(path, mapping):
        with open(path + ".tmp", "w") as f:
            json.dump(mapping, f)
        os.replace(path + ".tmp", path)

    @staticmethod
    def _count_in(path, text):
        try:
            with open(path, errors="replace") as f:
                return f.read().count(text)
        except FileNotFoundError:
            return 0

    # -- the system --------------------------------------------------------------------------
    def start(self):
        os.makedirs(self.work, exist_ok=True)
        help_text = subprocess.run([self.bins["table"], "serve", "--help"], capture_output=True,
                                   text=True).stdout
        supports_regions = "--regions-file" in help_text
        regions_file = os.path.join(self.work, "regions.json")
        if supports_regions:
            # The engines need every region named at start; the real ports are known only once
            # they listen, so they start with placeholders and re-read the file when it changes.
            self._write_regions(regions_file, {r: "http://127.0.0.1:1" for r in REGIONS})
        tables = {}
        for region in REGIONS:
            os.makedirs(os.path.join(self.work, region), exist_ok=True)
            argv = [self.bins["table"], "serve", "--listen", "127.0.0.1:0", "--data-dir",
                    os.path.join(self.work, region, "table"), "--region", region]
            if not self.sync:
                argv.append("--no-sync")
            if supports_regions:
                argv += ["--regions-file", regions_file]
            _, (port,) = self._start(f"{region}-table", argv)
            argv[argv.index("127.0.0.1:0")] = f"127.0.0.1:{port}"
            tables[region] = {"port": port, "argv": argv, "proc": self.procs[-1]}
        if supports_regions:
            logs = [os.path.join(self.work, f"{r}-table.log") for r in REGIONS]
            before = [self._count_in(path, "regions in ") for path in logs]
            self._write_regions(regions_file,
                                {r: f"http://127.0.0.1:{t['port']}" for r, t in tables.items()})
            deadline = time.time() + 30
            while any(self._count_in(path, "regions in ") <= n for path, n in zip(logs, before)):
                if time.time() > deadline:
                    raise RuntimeError("the tables did not re-read their regions file in 30 s")
                time.sleep(0.05)

        # Seed: the primary; a replica in the secondary if the engine replicates, else seed both.
        primary, secondary = REGIONS
        self._seed(primary, tables[primary]["port"])
        if supports_regions:
            status, body = self._ddb(tables[primary]["port"], "UpdateTable", {
                "TableName": TABLE, "ReplicaUpdates": [{"Create": {"RegionName": secondary}}]})
            deadline = time.time() + 30
            while status == 200 and time.time() < deadline:
                if self._item_count(tables[secondary]["port"]) >= 12:
                    self.replication = True
                    break
                time.sleep(0.3)
        if not self.replication:
            self._seed(secondary, tables[secondary]["port"])

        system = {"version": 1, "state_dir": self.work, "primary_region": primary, "regions": {}}
        lb_ports = {}
        for i, region in enumerate(REGIONS):
            tport = tables[region]["port"]
            env = self._env(region, tport)
            tasks = []
            ports = {}
            for svc, binary in (("core", self.bins["core"]), ("like", self.bins["like"])):
                _, (port,) = self._start(f"{region}-{svc}", [binary], dict(env, PORT="0"))
                ports[svc] = port
                tasks.append({"service": svc, "address": f"127.0.0.1:{port}",
                              "pid": self.procs[-1].pid,
                              "restart": {"argv": [binary], "env": dict(env, PORT=str(port))}})
            lb_config = {
                "Role": "LoadBalancer",
                "Listener": {"Port": 0, "Protocol": "HTTP",
                             "DefaultActions": [{"Type": "forward", "TargetGroupArn": "core"}]},
                "ListenerRules": [{"Priority": 1, "Conditions": [
                    {"Field": "path-pattern", "PathPatternConfig": {"Values": ["/mysfits/*/like"]}}],
                    "Actions": [{"Type": "forward", "TargetGroupArn": "like"}]}],
                "TargetGroups": [
                    {"Name": name, "HealthCheckPath": "/", "HealthCheckIntervalSeconds": 0.5,
                     "HealthCheckTimeoutSeconds": 0.5, "HealthyThresholdCount": 2,
                     "UnhealthyThresholdCount": 3,
                     "Targets": [{"Id": "127.0.0.1", "Port": ports[name]}]}
                    for name in ("core", "like")]}
            cfg = os.path.join(self.work, f"{region}-lb.json")
            with open(cfg, "w") as f:
                json.dump(lb_config, f)
            argv = [self.bins["edge"], "serve", "--config", cfg, "--control-port", "0",
                    "--threads", "2"]
            _, (lport, cport) = self._start(f"{region}-lb", argv, pattern="edge")
            lb_proc = self.procs[-1]
            # The same ports on a restart.
            lb_config["Listener"]["Port"] = lport
            fixed = os.path.join(self.work, f"{region}-lb-fixed.json")
            with open(fixed, "w") as f:
                json.dump(lb_config, f)
            lb_ports[region] = lport
            system["regions"][region] = {
                "table": {"endpoint": f"http://127.0.0.1:{tport}", "pid": tables[region]["proc"].pid,
                          "restart": {"argv": tables[region]["argv"]}},
                "load_balancer": {"url": f"http://127.0.0.1:{lport}",
                                  "control": f"http://127.0.0.1:{cport}", "pid": lb_proc.pid,
                                  "restart": {"argv": [self.bins["edge"], "serve", "--config", fixed,
                                                       "--control-port", str(cport), "--threads", "2"]}},
                "cluster": "mm-cluster",
                "services": {"core": "core-service", "like": "like-service"},
                "tasks": tasks,
            }

        acc_config = {
            "Role": "Accelerator",
            "Listeners": [{"PortRanges": [{"FromPort": 0, "ToPort": 0}], "Protocol": "TCP",
                           "ClientAffinity": "NONE", "ForwardingMode": "HTTP"}],
            "EndpointGroups": [
                {"EndpointGroupRegion": region, "TrafficDialPercentage": 100,
                 "HealthCheckIntervalSeconds": 0.3, "HealthCheckPath": "/", "ThresholdCount": 2,
                 "EndpointConfigurations": [{"EndpointId": f"127.0.0.1:{lb_ports[region]}",
                                             "Weight": 128}]}
                for region in REGIONS]}
        cfg = os.path.join(self.work, "accelerator.json")
        with open(cfg, "w") as f:
            json.dump(acc_config, f)
        _, (aport, acport) = self._start(
            "accelerator", [self.bins["edge"], "serve", "--config", cfg, "--control-port", "0",
                            "--threads", "2"], pattern="edge")
        system["accelerator"] = {"url": f"http://127.0.0.1:{aport}",
                                 "control": f"http://127.0.0.1:{acport}",
                                 "pid": self.procs[-1].pid, "mode": "http",
                                 "endpoint_groups": {r: r for r in REGIONS}}
        system["replication"] = self.replication  # harness-only: did the tables replicate?
        with open(self.system_file + ".tmp", "w") as f:
            json.dump(system, f, indent=2)
        os.replace(self.system_file + ".tmp", self.system_file)
        self._wait_healthy(system)
        return self.system_file

    def _seed(self, region, port):
        env = self._env(region, port)
        r = subprocess.run([self.bins["core"], "seed"], env=dict(os.environ, **env),
                           capture_output=True, text=True, timeout=120)
        if r.returncode != 0:
            raise RuntimeError(f"seed {region}: {r.stdout} {r.stderr}")

    def _wait_healthy(self, system):
        """Until the accelerator sees every region healthy and a page load works through it."""
        deadline = time.time() + 60
        control = system["accelerator"]["control"]
        while time.time() < deadline:
            try:
                with urllib.request.urlopen(control + "/state", timeout=2) as r:
                    state = json.loads(r.read())
                healthy = all(t["Health"] == "healthy" for g in state["Groups"] for t in g["Targets"])
                with urllib.request.urlopen(system["accelerator"]["url"] + "/mysfits", timeout=5) as r:
                    ok = r.status == 200 and len(json.loads(r.read())["mysfits"]) == 12
                if healthy and ok:
                    return
            except Exception:
                pass
            time.sleep(0.2)
        raise RuntimeError("the system did not become healthy within 60 s")

    def stop(self):
        """Stops what we started, and what the drill restarted (its pids are in system.json)."""
        pids = {p.pid for p in self.procs}
        try:
            with open(self.system_file) as f:
                s = json.load(f)
            for r in s.get("regions", {}).values():
                for key in ("table", "load_balancer", "agent"):
                    if r.get(key, {}).get("pid"):
                        pids.add(r[key]["pid"])
                for t in r.get("tasks", []):
                    if t.get("pid"):
                        pids.add(t["pid"])
            if s.get("accelerator", {}).get("pid"):
                pids.add(s["accelerator"]["pid"])
        except (OSError, ValueError):
            pass
        for pid in pids:
            for sig in (signal.SIGCONT, signal.SIGTERM):
                try:
                    os.kill(pid, sig)
                except ProcessLookupError:
                    pass
        deadline = time.time() + 15
        for p in self.procs:
            try:
                p.wait(timeout=max(0.1, deadline - time.time()))
            except subprocess.TimeoutExpired:
                p.kill()
        for pid in pids - {p.pid for p in self.procs}:
            # Restarted by the drill (not our children): wait for them to go, then SIGKILL.
            for _ in range(100):
                try:
                    os.kill(pid, 0)
                except ProcessLookupError:
                    break
                time.sleep(0.1)
            else:
                try:
                    os.kill(pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass


def binaries(args):
    return {"table": args.table, "core": args.core, "like": args.like, "edge": args.edge}


def add_binary_args(parser):
    parser.add_argument("--table", required=True)
    parser.add_argument("--core", required=True)
    parser.add_argument("--like", required=True)
    parser.add_argument("--edge", required=True)


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    add_binary_args(parser)
    parser.add_argument("--work", help="directory for state (default: a new temporary one)")
    args = parser.parse_args()
    work = args.work or tempfile.mkdtemp(prefix="mysfits-two-regions-")
    system = System(binaries(args), work)
    def on_term(*_):
        raise SystemExit(0)

    signal.signal(signal.SIGTERM, on_term)
    try:
        path = system.start()
        print("ready", path, flush=True)
        while sys.stdin.readline() != "":
            pass
    finally:
        system.stop()


if __name__ == "__main__":
    main()

# mysfits-table's CPU scheduling policy (--scheduling, docs/table.md "Scheduling policy"): by
# default every thread of the process runs under SCHED_BATCH, with `--scheduling normal` under
# the ordinary policy, and an unknown name is refused before anything starts. Not a DynamoDB
# feature: local runs only.
import os
import subprocess

import boto3
import pytest

from conftest import DUMMY_KEY_ID, DUMMY_SECRET, REGION

SCHED_OTHER, SCHED_BATCH = 0, 3


def thread_policies(pid):
    """{thread id: Linux scheduling policy} of every thread of process `pid` (/proc stat field 41)."""
    policies = {}
    task_dir = f"/proc/{pid}/task"
    for tid in os.listdir(task_dir):
        try:
            with open(f"{task_dir}/{tid}/stat") as f:
                text = f.read()
        except FileNotFoundError:  # the thread ended meanwhile
            continue
        fields = text[text.rindex(")") + 2:].split()  # fields 3, 4, ... after "pid (comm) "
        policies[int(tid)] = int(fields[41 - 3])
    return policies


@pytest.fixture(autouse=True)
def local_only(server):
    if server is None:
        pytest.skip("the process's scheduling policy is mysfits-table's own")


def answers(url):
    client = boto3.client("dynamodb", endpoint_url=url, region_name=REGION,
                          aws_access_key_id=DUMMY_KEY_ID, aws_secret_access_key=DUMMY_SECRET)
    return "TableNames" in client.list_tables()


def test_every_thread_runs_under_batch_by_default(start_server):
    s = start_server()
    assert answers(s.url)
    policies = thread_policies(s.proc.pid)
    # Request threads (8 by default), RocksDB's background threads, the log's flusher, main.
    assert len(policies) > 8
    assert set(policies.values()) == {SCHED_BATCH}, policies


def test_scheduling_normal_keeps_the_ordinary_policy(start_server):
    s = start_server("--scheduling", "normal")
    assert answers(s.url)
    assert set(thread_policies(s.proc.pid).values()) == {SCHED_OTHER}


def test_an_unknown_policy_is_refused_before_the_server_starts(tmp_path):
    binary = os.environ["MYSFITS_TABLE_BIN"]
    r = subprocess.run([binary, "serve", "--listen", "127.0.0.1:0", "--data-dir",
                        str(tmp_path / "data"), "--scheduling", "fifo"],
                       capture_output=True, text=True, timeout=30)
    assert r.returncode != 0
    assert "--scheduling" in r.stdout + r.stderr
    assert not (tmp_path / "data").exists()

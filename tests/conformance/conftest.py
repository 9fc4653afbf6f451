# Fixtures for the black-box conformance tests of mysfits-table (DESIGN.md §2.1, issue 2).
# By default each pytest session starts the server binary named by $MYSFITS_TABLE_BIN on a
# temporary data dir at 127.0.0.1 port 0; `--url URL` targets a running endpoint (e.g. dynalite)
# and `--aws` (or MYSFITS_CONFORMANCE_AWS=1) targets real DynamoDB, so every test must assert
# what DynamoDB itself does (the Scylla alternator test convention).
import os
import re
import signal
import subprocess
import tempfile
import time

import boto3
import pytest
from botocore.config import Config

import util

REGION = "us-west-2"
DUMMY_KEY_ID = "mysfitsconformance"
DUMMY_SECRET = "mysfitsconformancesecret"


def pytest_addoption(parser):
    parser.addoption("--aws", action="store_true", default=False,
                     help="run against real DynamoDB in us-west-2 with your AWS credentials")
    parser.addoption("--url", action="store", default=None,
                     help="run against an already running endpoint, e.g. http://127.0.0.1:8000")


def is_aws(config):
    return config.getoption("--aws") or os.environ.get("MYSFITS_CONFORMANCE_AWS") == "1"


class ServerProcess:
    """One mysfits-table process on a temporary data dir; stopped by its pid."""

    def __init__(self, extra_args=()):
        binary = os.environ.get("MYSFITS_TABLE_BIN")
        if not binary or not os.path.exists(binary):
            pytest.fail("MYSFITS_TABLE_BIN must name the mysfits-table binary "
                        "(or pass --url / --aws)")
        self.dir = tempfile.TemporaryDirectory(prefix="mysfits-conformance-")
        self.log_path = os.path.join(self.dir.name, "server.log")
        self.log = open(self.log_path, "w")
        args = [binary, "serve", "--listen", "127.0.0.1:0", "--data-dir",
                os.path.join(self.dir.name, "data"), "--region", REGION, *extra_args]
        self.proc = subprocess.Popen(args, stdout=self.log, stderr=subprocess.STDOUT,
                                     stdin=subprocess.DEVNULL)
        self.url = self._wait_for_address(timeout=60)

    def _wait_for_address(self, timeout):
        pattern = re.compile(r"mysfits-table listening on (http://127\.0\.0\.1:\d+)")
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with open(self.log_path) as f:
                m = pattern.search(f.read())
            if m:
                return m.group(1)
            if self.proc.poll() is not None:
                break
            time.sleep(0.05)
        self.stop()
        with open(self.log_path) as f:
            pytest.fail(f"mysfits-table did not print its address; output:\n{f.read()[-4000:]}")

    def output(self):
        with open(self.log_path) as f:
            return f.read()

    def stop(self):
        """Stops the server by its pid; returns its output if it had died before being asked."""
        died_early = self.proc.poll() is not None
        output = self.output() if died_early else None
        if self.proc.poll() is None:
            os.kill(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.kill(self.proc.pid, signal.SIGKILL)
                self.proc.wait(timeout=10)
        self.log.close()
        self.dir.cleanup()
        return output


@pytest.fixture(scope="session")
def aws(request):
    """True when the tests run against real DynamoDB."""
    return is_aws(request.config)


@pytest.fixture(scope="session")
def server(request):
    """The started server (None with --aws or --url)."""
    if is_aws(request.config) or request.config.getoption("--url"):
        yield None
        return
    s = ServerProcess()
    yield s
    crashed_output = s.stop()
    if crashed_output is not None:
        pytest.fail(f"mysfits-table exited during the tests (code {s.proc.returncode}); "
                    f"its output:\n{crashed_output[-6000:]}")


@pytest.fixture(scope="session")
def endpoint_url(request, server):
    """URL of the endpoint under test; None means the real AWS endpoint."""
    if is_aws(request.config):
        return None
    return request.config.getoption("--url") or server.url


def make_session(aws_mode, key_id=DUMMY_KEY_ID, secret=DUMMY_SECRET):
    if aws_mode:
        return boto3.Session(region_name=REGION)
    return boto3.Session(aws_access_key_id=key_id, aws_secret_access_key=secret,
                         region_name=REGION)


def client_config(aws_mode):
    # Locally a failed request must fail the test at once, not after boto3's back-off retries.
    if aws_mode:
        return Config(retries={"max_attempts": 5, "mode": "standard"})
    return Config(retries={"total_max_attempts": 1}, connect_timeout=10, read_timeout=30)


@pytest.fixture(scope="session")
def dynamodb(aws, endpoint_url):
    """boto3 DynamoDB resource bound to the endpoint under test."""
    return make_session(aws).resource("dynamodb", endpoint_url=endpoint_url,
                                      config=client_config(aws))


@pytest.fixture(scope="session")
def client(aws, endpoint_url):
    """boto3 low-level DynamoDB client of the same endpoint (wire-format attribute values; the
    resource's meta.client would serialise Python values instead)."""
    return make_session(aws).client("dynamodb", endpoint_url=endpoint_url,
                                    config=client_config(aws))


@pytest.fixture(scope="session")
def start_server(request):
    """Factory: start an extra server with more arguments (local runs only); stopped at the end."""
    started = []

    def start(*extra_args):
        if is_aws(request.config) or request.config.getoption("--url"):
            pytest.fail("start_server is only for local runs")
        s = ServerProcess(extra_args)
        started.append(s)
        return s

    yield start
    crashed = [out for out in (s.stop() for s in started) if out is not None]
    if crashed:
        pytest.fail(f"a mysfits-table started by a test exited early; output:\n{crashed[0][-6000:]}")


def _table_fixture(dynamodb, key_schema, attribute_definitions, **kwargs):
    table = util.create_test_table(dynamodb, key_schema, attribute_definitions, **kwargs)
    yield table
    util.delete_table_quietly(table)


@pytest.fixture(scope="session")
def test_table_s(dynamodb):
    """Table with a string hash key `p`."""
    yield from _table_fixture(dynamodb, [{"AttributeName": "p", "KeyType": "HASH"}],
                              [{"AttributeName": "p", "AttributeType": "S"}])


@pytest.fixture(scope="session")
def test_table_sn(dynamodb):
    """Table with a string hash key `p` and a number range key `c`."""
    yield from _table_fixture(dynamodb,
                              [{"AttributeName": "p", "KeyType": "HASH"},
                               {"AttributeName": "c", "KeyType": "RANGE"}],
                              [{"AttributeName": "p", "AttributeType": "S"},
                               {"AttributeName": "c", "AttributeType": "N"}])


@pytest.fixture(scope="session")
def test_table_ss(dynamodb):
    """Table with string hash key `p` and string range key `c`."""
    yield from _table_fixture(dynamodb,
                              [{"AttributeName": "p", "KeyType": "HASH"},
                               {"AttributeName": "c", "KeyType": "RANGE"}],
                              [{"AttributeName": "p", "AttributeType": "S"},
                               {"AttributeName": "c", "AttributeType": "S"}])


@pytest.fixture(scope="session")
def test_table_sb(dynamodb):
    """Table with string hash key `p` and binary range key `c`."""
    yield from _table_fixture(dynamodb,
                              [{"AttributeName": "p", "KeyType": "HASH"},
                               {"AttributeName": "c", "KeyType": "RANGE"}],
                              [{"AttributeName": "p", "AttributeType": "S"},
                               {"AttributeName": "c", "AttributeType": "B"}])

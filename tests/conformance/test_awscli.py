# The real AWS CLI (`aws dynamodb … --endpoint-url`) drives the table end to end: create-table,
# wait, put-item, get-item, update-item, query, scan, delete-table (issue 2 "What a user can do").
import json
import os
import shutil
import subprocess

import pytest

from util import unique_table_name

AWS = "/usr/bin/aws" if os.path.exists("/usr/bin/aws") else shutil.which("aws")


@pytest.fixture(scope="module")
def cli(aws, endpoint_url, tmp_path_factory):
    """Runs `aws dynamodb <args>` against the endpoint under test and returns parsed JSON."""
    if not AWS:
        pytest.fail("the AWS CLI is not installed (scripts/install-deps.sh installs awscli)")
    env = dict(os.environ, AWS_DEFAULT_REGION="us-west-2", AWS_PAGER="")
    if not aws:
        home = tmp_path_factory.mktemp("awscli")
        env.update(AWS_ACCESS_KEY_ID="mysfitsconformance",
                   AWS_SECRET_ACCESS_KEY="mysfitsconformancesecret",
                   AWS_CONFIG_FILE=str(home / "config"),
                   AWS_SHARED_CREDENTIALS_FILE=str(home / "credentials"))

    def run(*args, check=True):
        cmd = [AWS, "dynamodb", *args, "--output", "json"]
        if endpoint_url:
            cmd += ["--endpoint-url", endpoint_url]
        r = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=120)
        if check:
            assert r.returncode == 0, f"{' '.join(args)} failed: {r.stderr}"
            return json.loads(r.stdout) if r.stdout.strip() else {}
        return r

    return run


# The whole life of a table through the CLI, as a user of the README would do it.
def test_awscli_table_life(cli):
    name = unique_table_name()
    d = cli("create-table", "--table-name", name,
            "--attribute-definitions", "AttributeName=p,AttributeType=S",
            "AttributeName=c,AttributeType=N",
            "--key-schema", "AttributeName=p,KeyType=HASH", "AttributeName=c,KeyType=RANGE",
            "--billing-mode", "PAY_PER_REQUEST")
    assert d["TableDescription"]["TableName"] == name
    try:
        cli("wait", "table-exists", "--table-name", name)
        assert name in cli("list-tables")["TableNames"]
        for c in (3, 1, 2):
            cli("put-item", "--table-name", name, "--item",
                json.dumps({"p": {"S": "cli"}, "c": {"N": str(c)}, "v": {"S": f"v{c}"}}))
        got = cli("get-item", "--table-name", name, "--key",
                  json.dumps({"p": {"S": "cli"}, "c": {"N": "2"}}), "--consistent-read")
        assert got["Item"]["v"] == {"S": "v2"}
        upd = cli("update-item", "--table-name", name,
                  "--key", json.dumps({"p": {"S": "cli"}, "c": {"N": "2"}}),
                  "--update-expression", "SET Likes = if_not_exists(Likes, :z) + :n",
                  "--expression-attribute-values", json.dumps({":z": {"N": "0"}, ":n": {"N": "5"}}),
                  "--return-values", "UPDATED_NEW")
        assert upd["Attributes"]["Likes"] == {"N": "5"}
        q = cli("query", "--table-name", name, "--key-condition-expression", "p = :p AND c >= :c",
                "--expression-attribute-values", json.dumps({":p": {"S": "cli"}, ":c": {"N": "2"}}))
        assert [i["c"]["N"] for i in q["Items"]] == ["2", "3"]
        s = cli("scan", "--table-name", name)
        assert s["Count"] == 3 and len(s["Items"]) == 3
        cli("delete-item", "--table-name", name, "--key",
            json.dumps({"p": {"S": "cli"}, "c": {"N": "1"}}))
        assert cli("scan", "--table-name", name, "--select", "COUNT")["Count"] == 2
    finally:
        cli("delete-table", "--table-name", name)


# The CLI's auto-pagination over a small --page-size still returns every item.
def test_awscli_scan_pagination(cli):
    name = unique_table_name()
    cli("create-table", "--table-name", name,
        "--attribute-definitions", "AttributeName=p,AttributeType=S",
        "--key-schema", "AttributeName=p,KeyType=HASH", "--billing-mode", "PAY_PER_REQUEST")
    try:
        cli("wait", "table-exists", "--table-name", name)
        requests = [{"PutRequest": {"Item": {"p": {"S": f"k{i}"}}}} for i in range(20)]
        cli("batch-write-item", "--request-items", json.dumps({name: requests}))
        s = cli("scan", "--table-name", name, "--page-size", "3")
        assert sorted(i["p"]["S"] for i in s["Items"]) == sorted(f"k{i}" for i in range(20))
    finally:
        cli("delete-table", "--table-name", name)


# A CLI error surfaces DynamoDB's exception name and a non-zero exit status.
def test_awscli_error(cli):
    r = cli("describe-table", "--table-name", "mysfits_no_such_table_cli", check=False)
    assert r.returncode != 0 and "ResourceNotFoundException" in r.stderr

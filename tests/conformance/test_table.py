# Table operations: CreateTable (hash, hash+range, GSI/LSI with each projection, billing modes),
# DescribeTable fields, ListTables pagination, DeleteTable, UpdateTable adding and deleting a GSI
# with back-fill, and the ResourceInUse / ResourceNotFound / Validation errors (issue 2).
import pytest
from boto3.dynamodb.conditions import Key
from botocore.exceptions import ClientError

import util
from conftest import client_config, make_session
from util import error_code, full_query, random_string, unique_table_name

HASH_S = ([{"AttributeName": "p", "KeyType": "HASH"}],
          [{"AttributeName": "p", "AttributeType": "S"}])


def create(client, name=None, key_schema=None, attrs=None, **kwargs):
    kwargs.setdefault("BillingMode", "PAY_PER_REQUEST")
    name = name or unique_table_name()
    client.create_table(TableName=name, KeySchema=key_schema or HASH_S[0],
                        AttributeDefinitions=attrs or HASH_S[1], **kwargs)
    client.get_waiter("table_exists").wait(TableName=name,
                                           WaiterConfig={"Delay": 1, "MaxAttempts": 120})
    return name


def drop(client, name):
    try:
        client.delete_table(TableName=name)
    except ClientError:
        pass  # the test deleted it already


# A hash-only table describes itself with the fields real clients read.
def test_create_describe_hash_table(client):
    name = create(client)
    try:
        d = client.describe_table(TableName=name)["Table"]
        assert d["TableName"] == name and d["TableStatus"] == "ACTIVE"
        assert d["KeySchema"] == HASH_S[0] and d["AttributeDefinitions"] == HASH_S[1]
        assert d["ItemCount"] == 0 and d["TableSizeBytes"] == 0
        assert d["TableArn"].startswith("arn:aws:dynamodb:us-west-2:")
        assert d["TableArn"].endswith(":table/" + name)
        assert d["BillingModeSummary"]["BillingMode"] == "PAY_PER_REQUEST"
        assert "CreationDateTime" in d and "TableId" in d
    finally:
        drop(client, name)


# A hash+range table with provisioned throughput reports its capacity.
def test_create_hash_range_provisioned(client):
    name = create(client, key_schema=[{"AttributeName": "p", "KeyType": "HASH"},
                                      {"AttributeName": "c", "KeyType": "RANGE"}],
                  attrs=[{"AttributeName": "p", "AttributeType": "S"},
                         {"AttributeName": "c", "AttributeType": "N"}],
                  BillingMode="PROVISIONED",
                  ProvisionedThroughput={"ReadCapacityUnits": 3, "WriteCapacityUnits": 4})
    try:
        d = client.describe_table(TableName=name)["Table"]
        assert [k["KeyType"] for k in d["KeySchema"]] == ["HASH", "RANGE"]
        assert d["ProvisionedThroughput"]["ReadCapacityUnits"] == 3
        assert d["ProvisionedThroughput"]["WriteCapacityUnits"] == 4
    finally:
        drop(client, name)


# ProvisionedThroughput alone (no BillingMode) means provisioned mode.
def test_create_throughput_without_billing_mode(client):
    name = unique_table_name()
    client.create_table(TableName=name, KeySchema=HASH_S[0], AttributeDefinitions=HASH_S[1],
                        ProvisionedThroughput={"ReadCapacityUnits": 1, "WriteCapacityUnits": 1})
    try:
        client.get_waiter("table_exists").wait(TableName=name,
                                               WaiterConfig={"Delay": 1, "MaxAttempts": 120})
        d = client.describe_table(TableName=name)["Table"]
        assert d["ProvisionedThroughput"]["ReadCapacityUnits"] == 1
    finally:
        drop(client, name)


# GSIs and LSIs of each projection type are described as created.
def test_create_with_indexes(client):
    name = create(
        client, key_schema=[{"AttributeName": "p", "KeyType": "HASH"},
                            {"AttributeName": "c", "KeyType": "RANGE"}],
        attrs=[{"AttributeName": "p", "AttributeType": "S"},
               {"AttributeName": "c", "AttributeType": "S"},
               {"AttributeName": "g", "AttributeType": "S"},
               {"AttributeName": "l", "AttributeType": "N"}],
        GlobalSecondaryIndexes=[
            {"IndexName": "gall", "KeySchema": [{"AttributeName": "g", "KeyType": "HASH"}],
             "Projection": {"ProjectionType": "ALL"}},
            {"IndexName": "gkeys", "KeySchema": [{"AttributeName": "g", "KeyType": "HASH"},
                                                 {"AttributeName": "c", "KeyType": "RANGE"}],
             "Projection": {"ProjectionType": "KEYS_ONLY"}},
            {"IndexName": "ginc", "KeySchema": [{"AttributeName": "g", "KeyType": "HASH"}],
             "Projection": {"ProjectionType": "INCLUDE", "NonKeyAttributes": ["x", "y"]}}],
        LocalSecondaryIndexes=[
            {"IndexName": "lall", "KeySchema": [{"AttributeName": "p", "KeyType": "HASH"},
                                                {"AttributeName": "l", "KeyType": "RANGE"}],
             "Projection": {"ProjectionType": "ALL"}}])
    try:
        d = client.describe_table(TableName=name)["Table"]
        gsis = {g["IndexName"]: g for g in d["GlobalSecondaryIndexes"]}
        assert set(gsis) == {"gall", "gkeys", "ginc"}
        assert gsis["gall"]["Projection"]["ProjectionType"] == "ALL"
        assert gsis["gkeys"]["Projection"]["ProjectionType"] == "KEYS_ONLY"
        assert gsis["ginc"]["Projection"]["ProjectionType"] == "INCLUDE"
        assert sorted(gsis["ginc"]["Projection"]["NonKeyAttributes"]) == ["x", "y"]
        assert gsis["gkeys"]["KeySchema"][1] == {"AttributeName": "c", "KeyType": "RANGE"}
        assert all(g["IndexStatus"] == "ACTIVE" for g in gsis.values())
        assert gsis["gall"]["IndexArn"] == d["TableArn"] + "/index/gall"
        lsis = d["LocalSecondaryIndexes"]
        assert [i["IndexName"] for i in lsis] == ["lall"]
        assert lsis[0]["KeySchema"][1] == {"AttributeName": "l", "KeyType": "RANGE"}
    finally:
        drop(client, name)


# Key attribute names may be up to 255 bytes long.
def test_create_table_longest_key_name(client):
    name = create(client, key_schema=[{"AttributeName": "k" * 255, "KeyType": "HASH"}],
                  attrs=[{"AttributeName": "k" * 255, "AttributeType": "S"}])
    try:
        client.put_item(TableName=name, Item={"k" * 255: {"S": "x"}})
        assert "Item" in client.get_item(TableName=name, Key={"k" * 255: {"S": "x"}})
    finally:
        drop(client, name)


# Creating an existing table is ResourceInUseException.
def test_create_existing_table(client, test_table_s):
    with pytest.raises(ClientError) as e:
        client.create_table(TableName=test_table_s.name, KeySchema=HASH_S[0],
                            AttributeDefinitions=HASH_S[1], BillingMode="PAY_PER_REQUEST")
    assert error_code(e) == "ResourceInUseException"


# Invalid definitions are ValidationExceptions.
@pytest.mark.parametrize("kwargs", [
    # key attribute without a definition
    {"KeySchema": [{"AttributeName": "q", "KeyType": "HASH"}]},
    # defined attribute that no key uses
    {"AttributeDefinitions": HASH_S[1] + [{"AttributeName": "x", "AttributeType": "S"}]},
    # key type that keys cannot have
    {"AttributeDefinitions": [{"AttributeName": "p", "AttributeType": "BOOL"}]},
    # two hash keys
    {"KeySchema": [{"AttributeName": "p", "KeyType": "HASH"},
                   {"AttributeName": "p", "KeyType": "HASH"}]},
    # PROVISIONED without throughput
    {"BillingMode": "PROVISIONED"},
    # PAY_PER_REQUEST with throughput
    {"BillingMode": "PAY_PER_REQUEST",
     "ProvisionedThroughput": {"ReadCapacityUnits": 1, "WriteCapacityUnits": 1}},
    # illegal characters in the name
    {"TableName": "bad name!"},
    # a key attribute name over 255 bytes
    {"KeySchema": [{"AttributeName": "k" * 256, "KeyType": "HASH"}],
     "AttributeDefinitions": [{"AttributeName": "k" * 256, "AttributeType": "S"}]},
    # LSI on a hash-only table
    {"LocalSecondaryIndexes": [{"IndexName": "lsi1", "KeySchema": [
        {"AttributeName": "p", "KeyType": "HASH"}, {"AttributeName": "p", "KeyType": "RANGE"}],
        "Projection": {"ProjectionType": "ALL"}}]},
    # INCLUDE without NonKeyAttributes is fine, but KEYS_ONLY with NonKeyAttributes is not
    {"GlobalSecondaryIndexes": [{"IndexName": "gsi1", "KeySchema": [
        {"AttributeName": "p", "KeyType": "HASH"}],
        "Projection": {"ProjectionType": "KEYS_ONLY", "NonKeyAttributes": ["x"]}}]},
])
def test_create_table_invalid(client, kwargs):
    args = {"TableName": unique_table_name(), "KeySchema": HASH_S[0],
            "AttributeDefinitions": HASH_S[1], "BillingMode": "PAY_PER_REQUEST"}
    args.update(kwargs)
    with pytest.raises(ClientError) as e:
        client.create_table(**args)
    assert error_code(e) == "ValidationException"
    drop(client, args["TableName"])  # in case a lax server created it


# ListTables pages with Limit / LastEvaluatedTableName, in name order, covering every table.
def test_list_tables_pagination(client):
    names = [create(client) for _ in range(3)]
    try:
        seen, kwargs = [], {"Limit": 2}
        while True:
            page = client.list_tables(**kwargs)
            assert len(page["TableNames"]) <= 2
            seen += page["TableNames"]
            if "LastEvaluatedTableName" not in page:
                break
            kwargs["ExclusiveStartTableName"] = page["LastEvaluatedTableName"]
        assert seen == sorted(seen) and len(seen) == len(set(seen))
        assert set(names) <= set(seen)
    finally:
        for n in names:
            drop(client, n)


# DeleteTable returns the description; the table is then gone.
def test_delete_table(client):
    name = create(client)
    d = client.delete_table(TableName=name)["TableDescription"]
    assert d["TableName"] == name
    client.get_waiter("table_not_exists").wait(TableName=name,
                                               WaiterConfig={"Delay": 1, "MaxAttempts": 120})
    with pytest.raises(ClientError) as e:
        client.describe_table(TableName=name)
    assert error_code(e) == "ResourceNotFoundException"
    assert name not in client.list_tables()["TableNames"]


# Describe, delete and update of a missing table are ResourceNotFoundException.
def test_missing_table_errors(client):
    name = "mysfits_no_such_" + random_string()
    for call in (lambda: client.describe_table(TableName=name),
                 lambda: client.delete_table(TableName=name),
                 lambda: client.update_table(TableName=name, BillingMode="PAY_PER_REQUEST")):
        with pytest.raises(ClientError) as e:
            call()
        assert error_code(e) == "ResourceNotFoundException"


# ItemCount and TableSizeBytes reflect the stored items (DynamoDB refreshes them about every
# six hours, so only local runs check the figures).
def test_describe_item_count(client, dynamodb, aws):
    name = create(client)
    try:
        table = dynamodb.Table(name)
        for i in range(5):
            table.put_item(Item={"p": f"k{i}", "v": "x" * 100})
        d = client.describe_table(TableName=name)["Table"]
        if not aws:
            assert d["ItemCount"] == 5 and d["TableSizeBytes"] >= 500
    finally:
        drop(client, name)


def wait_index(client, name, index, present=True):
    import time
    deadline = time.monotonic() + 600
    while time.monotonic() < deadline:
        d = client.describe_table(TableName=name)["Table"]
        gsis = {g["IndexName"]: g for g in d.get("GlobalSecondaryIndexes", [])}
        if present and gsis.get(index, {}).get("IndexStatus") == "ACTIVE":
            return
        if not present and index not in gsis:
            return
        time.sleep(0.5)
    raise TimeoutError(index)


# UpdateTable adds a GSI back-filled from existing items, then deletes it.
def test_update_table_add_delete_gsi(client, dynamodb):
    name = create(client)
    try:
        table = dynamodb.Table(name)
        with table.batch_writer() as w:
            for i in range(50):
                w.put_item(Item={"p": f"k{i}", "g": "odd" if i % 2 else "even", "i": i})
        client.update_table(
            TableName=name, AttributeDefinitions=[{"AttributeName": "g", "AttributeType": "S"}],
            GlobalSecondaryIndexUpdates=[{"Create": {
                "IndexName": "by_g", "KeySchema": [{"AttributeName": "g", "KeyType": "HASH"}],
                "Projection": {"ProjectionType": "ALL"}}}])
        wait_index(client, name, "by_g")
        got = full_query(table, IndexName="by_g", KeyConditionExpression=Key("g").eq("odd"))
        assert sorted(i["i"] for i in got) == list(range(1, 50, 2))
        table.put_item(Item={"p": "new", "g": "odd", "i": 1001})
        got = full_query(table, IndexName="by_g", KeyConditionExpression=Key("g").eq("odd"))
        assert 1001 in [i["i"] for i in got]

        client.update_table(TableName=name,
                            GlobalSecondaryIndexUpdates=[{"Delete": {"IndexName": "by_g"}}])
        wait_index(client, name, "by_g", present=False)
        with pytest.raises(ClientError) as e:
            table.query(IndexName="by_g", KeyConditionExpression=Key("g").eq("odd"))
        assert error_code(e) == "ValidationException"
    finally:
        drop(client, name)


def gsi_of(client, name, index):
    d = client.describe_table(TableName=name)["Table"]
    return {g["IndexName"]: g for g in d.get("GlobalSecondaryIndexes", [])}[index]


# A GSI added by UpdateTable is described CREATING with Backfilling while its back-fill runs (the
# table stays usable: writes go on), then ACTIVE without Backfilling; a small table may be
# back-filled before the first DescribeTable. The ACTIVE index holds the items written before
# and during the back-fill.
def test_update_table_gsi_is_creating_then_active(aws, client, dynamodb):
    name = create(client)
    try:
        table = dynamodb.Table(name)
        with table.batch_writer() as w:
            for i in range(30):
                w.put_item(Item={"p": f"k{i}", "g": "a" if i % 3 else "b", "i": i})
        answer = client.update_table(
            TableName=name, AttributeDefinitions=[{"AttributeName": "g", "AttributeType": "S"}],
            GlobalSecondaryIndexUpdates=[{"Create": {
                "IndexName": "by_g", "KeySchema": [{"AttributeName": "g", "KeyType": "HASH"}],
                "Projection": {"ProjectionType": "KEYS_ONLY"}}}])["TableDescription"]
        new = {g["IndexName"]: g for g in answer["GlobalSecondaryIndexes"]}["by_g"]
        assert new["IndexStatus"] in ("CREATING", "ACTIVE")
        described = gsi_of(client, name, "by_g")
        assert described["IndexStatus"] in ("CREATING", "ACTIVE")
        for g in (new, described):
            # (DynamoDB may describe it CREATING before its back-fill starts, Backfilling false.)
            if g["IndexStatus"] == "CREATING" and not aws:
                assert g["Backfilling"] is True
        table.put_item(Item={"p": "during", "g": "b", "i": 100})
        table.delete_item(Key={"p": "k0"})
        wait_index(client, name, "by_g")
        active = gsi_of(client, name, "by_g")
        assert "Backfilling" not in active or active["Backfilling"] is False
        got = full_query(table, IndexName="by_g", KeyConditionExpression=Key("g").eq("b"))
        assert sorted(i["p"] for i in got) == sorted(
            [f"k{i}" for i in range(3, 30, 3)] + ["during"])
        assert set(got[0]) == {"p", "g"}  # KEYS_ONLY
    finally:
        drop(client, name)


# A Query or Scan of a GSI still back-filling is refused with DynamoDB's ValidationException.
# The back-fill is slowed (local engine only) so that it is still running when read.
def test_query_of_backfilling_gsi_is_refused(aws, request, start_server):
    if aws or request.config.getoption("--url"):
        pytest.skip("starts its own server with a slowed back-fill")
    s = start_server("--index-backfill-page-items", "1", "--index-backfill-page-delay-ms", "1000")
    c = make_session(False).client("dynamodb", endpoint_url=s.url, config=client_config(False))
    name = create(c)
    try:
        for i in range(200):  # 200 pages a second apart: minutes of back-fill
            c.put_item(TableName=name, Item={"p": {"S": f"k{i}"}, "g": {"S": "x"}})
        c.update_table(
            TableName=name, AttributeDefinitions=[{"AttributeName": "g", "AttributeType": "S"}],
            GlobalSecondaryIndexUpdates=[{"Create": {
                "IndexName": "by_g", "KeySchema": [{"AttributeName": "g", "KeyType": "HASH"}],
                "Projection": {"ProjectionType": "ALL"}}}])
        g = gsi_of(c, name, "by_g")
        assert g["IndexStatus"] == "CREATING" and g["Backfilling"] is True
        with pytest.raises(ClientError) as e:
            c.query(TableName=name, IndexName="by_g", KeyConditionExpression="g = :g",
                    ExpressionAttributeValues={":g": {"S": "x"}})
        assert error_code(e) == "ValidationException"
        assert e.value.response["Error"]["Message"] == \
            "Cannot read from backfilling global secondary index: by_g"
        with pytest.raises(ClientError) as e:
            c.scan(TableName=name, IndexName="by_g")
        assert error_code(e) == "ValidationException"
        # The table itself is ACTIVE and serves reads and writes meanwhile.
        assert c.describe_table(TableName=name)["Table"]["TableStatus"] == "ACTIVE"
        c.put_item(TableName=name, Item={"p": {"S": "late"}, "g": {"S": "x"}})
        assert c.get_item(TableName=name, Key={"p": {"S": "late"}})["Item"]["g"]["S"] == "x"
        # Deleting the index during its back-fill is allowed (as in DynamoDB) and ends it.
        c.update_table(TableName=name,
                       GlobalSecondaryIndexUpdates=[{"Delete": {"IndexName": "by_g"}}])
        wait_index(c, name, "by_g", present=False)
    finally:
        drop(c, name)


# Adding a GSI whose name exists, or deleting one that does not, is rejected.
def test_update_table_gsi_errors(client):
    name = create(client, attrs=HASH_S[1] + [{"AttributeName": "g", "AttributeType": "S"}],
                  GlobalSecondaryIndexes=[{"IndexName": "gsi_one", "KeySchema": [
                      {"AttributeName": "g", "KeyType": "HASH"}],
                      "Projection": {"ProjectionType": "ALL"}}])
    try:
        with pytest.raises(ClientError) as e:
            client.update_table(TableName=name, GlobalSecondaryIndexUpdates=[
                {"Delete": {"IndexName": "no_such_index"}}])
        assert error_code(e) in ("ResourceNotFoundException", "ValidationException")
        with pytest.raises(ClientError) as e:
            client.update_table(
                TableName=name,
                AttributeDefinitions=[{"AttributeName": "g", "AttributeType": "S"}],
                GlobalSecondaryIndexUpdates=[{"Create": {
                    "IndexName": "gsi_one", "KeySchema": [{"AttributeName": "g", "KeyType": "HASH"}],
                    "Projection": {"ProjectionType": "ALL"}}}])
        assert error_code(e) in ("ResourceInUseException", "ValidationException")
    finally:
        drop(client, name)


# UpdateTable can switch billing mode; DescribeTable reports the new one.
def test_update_table_billing_mode(client):
    name = create(client)
    try:
        client.update_table(TableName=name, BillingMode="PROVISIONED",
                            ProvisionedThroughput={"ReadCapacityUnits": 2,
                                                   "WriteCapacityUnits": 2})
        util_wait_active(client, name)
        d = client.describe_table(TableName=name)["Table"]
        assert d["ProvisionedThroughput"]["ReadCapacityUnits"] == 2
        assert d.get("BillingModeSummary", {}).get("BillingMode", "PROVISIONED") == "PROVISIONED"
    finally:
        drop(client, name)


def util_wait_active(client, name):
    import time
    deadline = time.monotonic() + 600
    while client.describe_table(TableName=name)["Table"]["TableStatus"] != "ACTIVE":
        assert time.monotonic() < deadline, f"{name} did not become ACTIVE"
        time.sleep(0.5)

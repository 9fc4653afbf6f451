# The workshop's own table: MysfitsTable (hash key MysfitId; GSIs GoodEvilIndex and LawChaosIndex
# keyed on the attribute plus MysfitId, projection ALL), loaded with the twelve mysfits of the
# repo's data/mysfits.tsv, and the original service's calls against it (issue 2 "Tests").
import csv
import os

import pytest

import util

TSV = os.path.join(os.path.dirname(__file__), "..", "..", "data", "mysfits.tsv")


def load_tsv():
    with open(TSV, newline="") as f:
        return list(csv.DictReader(f, delimiter="\t"))


def to_item(row):
    return {"MysfitId": {"S": row["MysfitId"]}, "Name": {"S": row["Name"]},
            "Species": {"S": row["Species"]}, "Age": {"N": row["Age"]},
            "GoodEvil": {"S": row["GoodEvil"]}, "LawChaos": {"S": row["LawChaos"]}}


def index(name, attribute):
    return {"IndexName": name,
            "KeySchema": [{"AttributeName": attribute, "KeyType": "HASH"},
                          {"AttributeName": "MysfitId", "KeyType": "RANGE"}],
            "Projection": {"ProjectionType": "ALL"},
            "ProvisionedThroughput": {"ReadCapacityUnits": 5, "WriteCapacityUnits": 5}}


@pytest.fixture(scope="module")
def mysfits_table(client):
    """MysfitsTable as the workshop's dynamodb-table.json creates it, loaded by batch-write."""
    name = "MysfitsTable-" + util.random_string(8)  # suffixed so runs on real AWS cannot clash
    client.create_table(
        TableName=name,
        AttributeDefinitions=[{"AttributeName": a, "AttributeType": "S"}
                              for a in ("MysfitId", "GoodEvil", "LawChaos")],
        KeySchema=[{"AttributeName": "MysfitId", "KeyType": "HASH"}],
        GlobalSecondaryIndexes=[index("LawChaosIndex", "LawChaos"),
                                index("GoodEvilIndex", "GoodEvil")],
        ProvisionedThroughput={"ReadCapacityUnits": 5, "WriteCapacityUnits": 5})
    client.get_waiter("table_exists").wait(TableName=name,
                                           WaiterConfig={"Delay": 1, "MaxAttempts": 300})
    rows = load_tsv()
    for start in range(0, len(rows), 25):
        request = {name: [{"PutRequest": {"Item": to_item(r)}} for r in rows[start:start + 25]]}
        while request:
            request = client.batch_write_item(RequestItems=request)["UnprocessedItems"]
    yield name
    client.delete_table(TableName=name)


def names(items):
    return sorted(i["Name"]["S"] for i in items)


def query_index(client, table, attribute, value):
    """The original service's filter query: legacy KeyConditions on <Attribute>Index."""
    r = client.query(TableName=table, IndexName=attribute + "Index", KeyConditions={
        attribute: {"AttributeValueList": [{"S": value}], "ComparisonOperator": "EQ"}})
    return r["Items"]


# The repo's copy of the data has the twelve mysfits.
def test_mysfits_data_file():
    rows = load_tsv()
    assert len(rows) == 12 and len({r["MysfitId"] for r in rows}) == 12


# The original getAllMysfits: a Scan returns all twelve, with every attribute as loaded.
def test_mysfits_scan_all(client, mysfits_table):
    items = client.scan(TableName=mysfits_table)["Items"]
    assert len(items) == 12
    assert sorted(items, key=lambda i: i["MysfitId"]["S"]) == sorted(
        (to_item(r) for r in load_tsv()), key=lambda i: i["MysfitId"]["S"])


# GoodEvil = Evil gives exactly Evangeline, Gretta, Snowflake and Rujin.
def test_mysfits_query_evil(client, mysfits_table):
    items = query_index(client, mysfits_table, "GoodEvil", "Evil")
    assert names(items) == sorted(["Evangeline", "Gretta", "Snowflake", "Rujin"])
    assert [i["MysfitId"]["S"] for i in items] == sorted(i["MysfitId"]["S"] for i in items)


# Every value of both filters gives the mysfits the data file says.
@pytest.mark.parametrize("attribute,value", [
    ("GoodEvil", "Good"), ("GoodEvil", "Neutral"), ("GoodEvil", "Evil"),
    ("LawChaos", "Lawful"), ("LawChaos", "Neutral"), ("LawChaos", "Chaotic"),
])
def test_mysfits_query_filters(client, mysfits_table, attribute, value):
    expected = sorted(r["Name"] for r in load_tsv() if r[attribute] == value)
    assert names(query_index(client, mysfits_table, attribute, value)) == expected


# The original getMysfit: GetItem by MysfitId.
def test_mysfits_get_one(client, mysfits_table):
    row = load_tsv()[5]
    got = client.get_item(TableName=mysfits_table, Key={"MysfitId": {"S": row["MysfitId"]}})
    assert got["Item"] == to_item(row)


# The like button: SET Likes = Likes + :n on an initialised counter, then adopt with a condition.
def test_mysfits_like_and_adopt(client, mysfits_table):
    key = {"MysfitId": {"S": load_tsv()[0]["MysfitId"]}}
    client.update_item(TableName=mysfits_table, Key=key, UpdateExpression="SET Likes = :z",
                       ConditionExpression="attribute_not_exists(Likes)",
                       ExpressionAttributeValues={":z": {"N": "0"}})
    for _ in range(3):
        client.update_item(TableName=mysfits_table, Key=key,
                           UpdateExpression="SET Likes = Likes + :n",
                           ExpressionAttributeValues={":n": {"N": "1"}})
    r = client.update_item(TableName=mysfits_table, Key=key, UpdateExpression="SET Adopted = :t",
                           ConditionExpression="attribute_not_exists(Adopted)",
                           ExpressionAttributeValues={":t": {"BOOL": True}},
                           ReturnValues="ALL_NEW")
    assert r["Attributes"]["Likes"] == {"N": "3"} and r["Attributes"]["Adopted"] == {"BOOL": True}
    # the GSIs carry the new attributes (projection ALL)
    evil = {i["Name"]["S"]: i for i in query_index(client, mysfits_table, "GoodEvil", "Evil")}
    assert evil["Evangeline"]["Likes"] == {"N": "3"}

# TagResource / UntagResource / ListTagsOfResource on table ARNs, and Tags given to CreateTable
# (issue 2: later features are switched on per table through tags).
import pytest
from botocore.exceptions import ClientError

from util import error_code, random_string, unique_table_name


def tags_of(client, arn):
    tags, kwargs = {}, {"ResourceArn": arn}
    while True:
        r = client.list_tags_of_resource(**kwargs)
        tags.update({t["Key"]: t["Value"] for t in r["Tags"]})
        if "NextToken" not in r:
            return tags
        kwargs["NextToken"] = r["NextToken"]


def wait_tags(client, arn, expected):
    # Real DynamoDB applies tags asynchronously; locally the first read must already match.
    import time
    deadline = time.monotonic() + (60 if client.meta.endpoint_url.endswith("amazonaws.com") else 0)
    while True:
        got = tags_of(client, arn)
        if got == expected or time.monotonic() > deadline:
            return got
        time.sleep(1)


# Tags set, overwritten, listed and removed on a table ARN.
def test_tag_untag_list(client, test_table_s):
    arn = client.describe_table(TableName=test_table_s.name)["Table"]["TableArn"]
    client.tag_resource(ResourceArn=arn, Tags=[{"Key": "a", "Value": "1"},
                                               {"Key": "mysfits:feature", "Value": "on"}])
    assert wait_tags(client, arn, {"a": "1", "mysfits:feature": "on"}) == {
        "a": "1", "mysfits:feature": "on"}
    client.tag_resource(ResourceArn=arn, Tags=[{"Key": "a", "Value": "2"}])
    assert wait_tags(client, arn, {"a": "2", "mysfits:feature": "on"})["a"] == "2"
    client.untag_resource(ResourceArn=arn, TagKeys=["a", "mysfits:feature", "never-set"])
    assert wait_tags(client, arn, {}) == {}


# Tags given at CreateTable are listed.
def test_create_table_with_tags(client):
    name = unique_table_name()
    client.create_table(TableName=name, BillingMode="PAY_PER_REQUEST",
                        KeySchema=[{"AttributeName": "p", "KeyType": "HASH"}],
                        AttributeDefinitions=[{"AttributeName": "p", "AttributeType": "S"}],
                        Tags=[{"Key": "team", "Value": "mysfits"}])
    try:
        client.get_waiter("table_exists").wait(TableName=name,
                                               WaiterConfig={"Delay": 1, "MaxAttempts": 120})
        arn = client.describe_table(TableName=name)["Table"]["TableArn"]
        assert wait_tags(client, arn, {"team": "mysfits"}) == {"team": "mysfits"}
    finally:
        client.delete_table(TableName=name)


# Tagging the ARN of a table that does not exist is ResourceNotFoundException.
def test_tag_missing_table(client, test_table_s):
    arn = client.describe_table(TableName=test_table_s.name)["Table"]["TableArn"]
    missing = arn.rsplit("/", 1)[0] + "/mysfits_no_such_" + random_string()
    with pytest.raises(ClientError) as e:
        client.tag_resource(ResourceArn=missing, Tags=[{"Key": "a", "Value": "1"}])
    assert error_code(e) == "ResourceNotFoundException"
    with pytest.raises(ClientError) as e:
        client.list_tags_of_resource(ResourceArn=missing)
    assert error_code(e) == "ResourceNotFoundException"


# A string that is not an ARN is refused: DynamoDB answers with AccessDeniedException (IAM cannot
# authorise a non-ARN resource; dynalite reproduces that) or, on newer endpoints, ValidationException.
def test_tag_malformed_arn(client):
    with pytest.raises(ClientError) as e:
        client.tag_resource(ResourceArn="not-an-arn-at-all", Tags=[{"Key": "a", "Value": "1"}])
    assert error_code(e) in ("AccessDeniedException", "ValidationException")

# Scan: all items, Limit and pagination, Select COUNT, FilterExpression, projections, parallel
# scan segments covering every item exactly once, scans of a GSI, and the errors (issue 2).
import pytest
from boto3.dynamodb.conditions import Attr
from botocore.exceptions import ClientError

import util
from util import error_code, full_scan, random_string


@pytest.fixture(scope="module")
def filled_table(dynamodb):
    """A fresh table of 200 items: p = i0..i199, n = i, g set on even items only."""
    table = util.create_test_table(
        dynamodb, [{"AttributeName": "p", "KeyType": "HASH"}],
        [{"AttributeName": "p", "AttributeType": "S"}, {"AttributeName": "g", "AttributeType": "S"}],
        GlobalSecondaryIndexes=[{"IndexName": "by_g",
                                 "KeySchema": [{"AttributeName": "g", "KeyType": "HASH"}],
                                 "Projection": {"ProjectionType": "ALL"}}])
    with table.batch_writer() as w:
        for i in range(200):
            item = {"p": f"i{i}", "n": i}
            if i % 2 == 0:
                item["g"] = "even"
            w.put_item(Item=item)
    yield table
    util.delete_table_quietly(table)


# A full scan returns every item exactly once.
def test_scan_all(filled_table):
    got = full_scan(filled_table)
    assert sorted(i["n"] for i in got) == list(range(200))


# Limit bounds each page; following LastEvaluatedKey returns every item once.
def test_scan_limit_pagination(filled_table):
    kwargs, seen, pages = {"Limit": 17}, [], 0
    while True:
        page = filled_table.scan(**kwargs)
        assert len(page["Items"]) <= 17
        seen += [i["n"] for i in page["Items"]]
        pages += 1
        if "LastEvaluatedKey" not in page:
            break
        kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]
    assert sorted(seen) == list(range(200)) and pages >= 12


# Select=COUNT counts without returning items.
def test_scan_select_count(filled_table):
    counts = full_scan_counts(filled_table, Select="COUNT")
    assert counts == (200, 200)
    counts = full_scan_counts(filled_table, Select="COUNT", FilterExpression=Attr("n").lt(50))
    assert counts == (50, 200)


def full_scan_counts(table, **kwargs):
    count = scanned = 0
    while True:
        page = table.scan(**kwargs)
        assert "Items" not in page
        count += page["Count"]
        scanned += page["ScannedCount"]
        if "LastEvaluatedKey" not in page:
            return count, scanned
        kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]


# FilterExpression keeps only matching items.
def test_scan_filter(filled_table):
    got = full_scan(filled_table, FilterExpression=Attr("n").between(10, 14) | Attr("p").eq("i99"))
    assert sorted(i["n"] for i in got) == [10, 11, 12, 13, 14, 99]


# ProjectionExpression with a name placeholder.
def test_scan_projection(filled_table):
    got = full_scan(filled_table, ProjectionExpression="#n", ExpressionAttributeNames={"#n": "n"})
    assert len(got) == 200 and all(list(i.keys()) == ["n"] for i in got)


# Parallel scan: the segments together return every item exactly once, for several splits.
@pytest.mark.parametrize("total", [1, 2, 3, 7, 16])
def test_scan_parallel_segments(filled_table, total):
    seen = []
    for segment in range(total):
        seen += [i["n"] for i in full_scan(filled_table, Segment=segment, TotalSegments=total,
                                           Limit=23)]
    assert sorted(seen) == list(range(200))


# Parallel scan of a GSI, with a filter and pages: the segments together return every indexed
# item exactly once, each counting only its own items as scanned.
@pytest.mark.parametrize("total", [2, 5])
def test_scan_parallel_segments_of_an_index(filled_table, total):
    seen, scanned = [], 0
    for segment in range(total):
        kwargs = {"IndexName": "by_g", "Segment": segment, "TotalSegments": total, "Limit": 9,
                  "FilterExpression": Attr("n").lt(150)}
        while True:
            page = filled_table.scan(**kwargs)
            seen += [i["n"] for i in page["Items"]]
            scanned += page["ScannedCount"]
            if "LastEvaluatedKey" not in page:
                break
            kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]
    assert sorted(seen) == list(range(0, 150, 2))
    assert scanned == 100  # every even item once, in its own segment


# With a range key, all items of one hash key are in one segment, and whole-item pages (no
# Limit, no filter) split the same way as paginated ones.
def test_scan_segments_keep_a_hash_key_together(dynamodb):
    table = util.create_test_table(
        dynamodb, [{"AttributeName": "h", "KeyType": "HASH"},
                   {"AttributeName": "r", "KeyType": "RANGE"}],
        [{"AttributeName": "h", "AttributeType": "S"}, {"AttributeName": "r", "AttributeType": "N"}])
    try:
        with table.batch_writer() as w:
            for h in range(20):
                for r in range(5):
                    w.put_item(Item={"h": f"h{h}", "r": r})
        total = 4
        by_segment = [full_scan(table, Segment=s, TotalSegments=total) for s in range(total)]
        paged = [full_scan(table, Segment=s, TotalSegments=total, Limit=3) for s in range(total)]
        for items, items_paged in zip(by_segment, paged):
            assert sorted((i["h"], i["r"]) for i in items) == \
                sorted((i["h"], i["r"]) for i in items_paged)
        owner = {}
        for s, items in enumerate(by_segment):
            for i in items:
                assert owner.setdefault(i["h"], s) == s
        assert sorted(owner) == sorted(f"h{h}" for h in range(20))
        assert sum(len(items) for items in by_segment) == 100
        assert all(items for items in by_segment)  # 20 hash keys over 4 segments: none empty
    finally:
        util.delete_table_quietly(table)


# Segment must be below TotalSegments, and both must come together.
@pytest.mark.parametrize("kwargs", [
    {"Segment": 2, "TotalSegments": 2},
    {"Segment": 0},
    {"TotalSegments": 2},
    {"Segment": 0, "TotalSegments": 1000001},
])
def test_scan_bad_segments(filled_table, kwargs):
    with pytest.raises(ClientError) as e:
        filled_table.scan(**kwargs)
    assert error_code(e) == "ValidationException"


# Scanning a GSI returns only items that have the index key.
def test_scan_gsi(filled_table):
    got = full_scan(filled_table, IndexName="by_g")
    assert sorted(i["n"] for i in got) == list(range(0, 200, 2))


# A page stops at 1 MB even without Limit, and paging returns everything.
def test_scan_one_megabyte_pages(dynamodb):
    table = util.create_test_table(dynamodb, [{"AttributeName": "p", "KeyType": "HASH"}],
                                   [{"AttributeName": "p", "AttributeType": "S"}])
    try:
        with table.batch_writer() as w:
            for i in range(30):
                w.put_item(Item={"p": f"k{i}", "blob": "x" * 100_000})
        first = table.scan()
        assert "LastEvaluatedKey" in first and len(first["Items"]) < 30
        got = full_scan(table, ProjectionExpression="p")
        assert sorted(i["p"] for i in got) == sorted(f"k{i}" for i in range(30))
    finally:
        util.delete_table_quietly(table)


# A bad FilterExpression is a ValidationException; a missing table ResourceNotFound.
def test_scan_errors(filled_table, dynamodb):
    with pytest.raises(ClientError) as e:
        filled_table.scan(FilterExpression="n = ")
    assert error_code(e) == "ValidationException"
    with pytest.raises(ClientError) as e:
        dynamodb.Table("mysfits_no_such_" + random_string()).scan()
    assert error_code(e) == "ResourceNotFoundException"

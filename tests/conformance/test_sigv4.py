# SigV4 verification: with credentials configured the server accepts requests that real clients
# sign correctly and rejects bad ones with DynamoDB's errors (issue 2 "Durability" paragraph).
# Locally a second server is started with --access-key-id/--secret-access-key; with --aws the
# caller's own credentials play that part.
import datetime
import json
import urllib.error
import urllib.request

import boto3
import pytest
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.config import Config
from botocore.credentials import Credentials
from botocore.exceptions import ClientError

from util import error_code

KEY_ID = "AKIDMYSFITSTEST"
SECRET = "mysfits/secret+key=with-odd-chars"


@pytest.fixture(scope="module")
def signed_endpoint(aws, start_server):
    """(endpoint_url, key id, secret) of an endpoint that checks signatures."""
    if aws:
        creds = boto3.Session().get_credentials().get_frozen_credentials()
        return None, creds.access_key, creds.secret_key
    s = start_server("--access-key-id", KEY_ID, "--secret-access-key", SECRET)
    return s.url, KEY_ID, SECRET


def make_client(url, key_id, secret):
    return boto3.client("dynamodb", endpoint_url=url, region_name="us-west-2",
                        aws_access_key_id=key_id, aws_secret_access_key=secret,
                        config=Config(retries={"total_max_attempts": 1}))


def send(url, headers, body):
    req = urllib.request.Request(url + "/", data=body, method="POST", headers=headers)
    try:
        with urllib.request.urlopen(req, timeout=30) as r:
            return r.status, json.loads(r.read())
    except urllib.error.HTTPError as e:
        return e.code, json.loads(e.read())


def SkewedSigV4Auth(when):
    """A SigV4 signer whose clock reads `when` (botocore takes utcnow() inside add_auth)."""

    class Signer(SigV4Auth):
        def _modify_request_before_signing(self, request):
            request.context["timestamp"] = when.strftime("%Y%m%dT%H%M%SZ")
            super()._modify_request_before_signing(request)

    return Signer


def signed_headers(url, key_id, secret, body, when=None):
    headers = {"Content-Type": "application/x-amz-json-1.0",
               "X-Amz-Target": "DynamoDB_20120810.ListTables"}
    req = AWSRequest(method="POST", url=url + "/", data=body, headers=headers)
    auth = (SkewedSigV4Auth(when) if when else SigV4Auth)(Credentials(key_id, secret), "dynamodb",
                                                          "us-west-2")
    auth.add_auth(req)
    return dict(req.prepare().headers.items())


def endpoint_of(url):
    return url or "https://dynamodb.us-west-2.amazonaws.com"


# A request signed with the right key by boto3 is accepted.
def test_sigv4_correct_signature(signed_endpoint):
    url, key_id, secret = signed_endpoint
    assert "TableNames" in make_client(url, key_id, secret).list_tables()


# The right key id with a wrong secret is InvalidSignatureException.
def test_sigv4_wrong_secret(signed_endpoint):
    url, key_id, _ = signed_endpoint
    with pytest.raises(ClientError) as e:
        make_client(url, key_id, "wrong-secret").list_tables()
    assert error_code(e) == "InvalidSignatureException"


# An unknown key id is UnrecognizedClientException.
def test_sigv4_unknown_key(signed_endpoint):
    url, _, secret = signed_endpoint
    with pytest.raises(ClientError) as e:
        make_client(url, "AKIDNOSUCHKEY0000000", secret).list_tables()
    assert error_code(e) == "UnrecognizedClientException"


# A body changed after signing no longer matches the signature.
def test_sigv4_tampered_body(signed_endpoint):
    url, key_id, secret = signed_endpoint
    url = endpoint_of(url)
    headers = signed_headers(url, key_id, secret, b'{"Limit": 1}')
    status, payload = send(url, headers, b'{"Limit": 2}')
    assert status == 400 and payload["__type"].endswith("#InvalidSignatureException")


# A request without any Authorization header is MissingAuthenticationTokenException.
def test_sigv4_missing_authentication(signed_endpoint):
    url = endpoint_of(signed_endpoint[0])
    status, payload = send(url, {"Content-Type": "application/x-amz-json-1.0",
                                 "X-Amz-Target": "DynamoDB_20120810.ListTables"}, b"{}")
    assert status in (400, 403)
    assert payload["__type"].endswith("#MissingAuthenticationTokenException")


# A signature dated far in the past has expired (InvalidSignatureException, "Signature expired").
def test_sigv4_expired(signed_endpoint):
    url, key_id, secret = signed_endpoint
    url = endpoint_of(url)
    old = datetime.datetime.utcnow() - datetime.timedelta(hours=1)
    headers = signed_headers(url, key_id, secret, b"{}", when=old)
    status, payload = send(url, headers, b"{}")
    assert status == 400 and payload["__type"].endswith("#InvalidSignatureException")
    assert "expired" in (payload.get("message") or payload.get("Message", "")).lower()

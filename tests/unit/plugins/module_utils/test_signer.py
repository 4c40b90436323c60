"""The AK/SK signer must produce the same Authorization header as the official Huawei Cloud SDK."""

import json

import pytest

from ansible_collections.koophone.cloud.plugins.module_utils import _signer as signer

sdk_signer = pytest.importorskip("huaweicloudsdkcore.signer.signer", reason="huaweicloudsdkcore is the test oracle")
sdk_request = pytest.importorskip("huaweicloudsdkcore.sdk_request")

AK = "KOOPHONEDEMOAK00001"
SK = "koophone-demo-secret-key-000000000000000"
DATE = "20261128T101500Z"


class _Credentials:
    ak = AK
    sk = SK


def _json(body):
    return json.dumps(body, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


CASES = [
    ("GET", "koophone.myhuaweicloud.com", "/v1/instances/batch-query", [("page_no", "1"), ("page_size", "100")], None),
    (
        "GET",
        "koophone.myhuaweicloud.com",
        "/v1/instances/batch-query",
        [("instance_name", "kp phone 01"), ("page_no", "1")],
        None,
    ),
    (
        "GET",
        "koophone.myhuaweicloud.com",
        "/v1/instances/batch-query",
        [("instance_name", "手机-001"), ("page_size", "200")],
        None,
    ),
    (
        "GET",
        "koophone.myhuaweicloud.com",
        "/v1/instances/batch-query",
        [("instance_name", "a&b=c/d?e+f%g#h*i'j(k)~l"), ("page_no", "2")],
        None,
    ),
    ("GET", "koophone.myhuaweicloud.com", "/v1/instances/batch-query", [("instance_name", ""), ("page_no", "1")], None),
    ("GET", "koophone.myhuaweicloud.com", "/v1/instances/batch-query", [("b", "2"), ("a", "z"), ("a", "b")], None),
    ("GET", "koophone.myhuaweicloud.com", "/v1/instances/sku", [("type", "0")], None),
    (
        "POST",
        "koophone.myhuaweicloud.com",
        "/v1/instances/sync-command",
        [],
        _json({"instance_ids": ["5srn5hL8"], "command": "getprop ro.build.version.release"}),
    ),
    (
        "POST",
        "koophone.myhuaweicloud.com",
        "/v1/instances/create",
        [],
        _json({"instanceNamePrefix": "手机", "count": 2, "chargeParam": {"periodType": 2, "periodNum": 1}}),
    ),
    (
        "PUT",
        "koophone.myhuaweicloud.com",
        "/v1/instances/video-setting",
        [],
        _json({"instance_ids": ["a"], "instance_settings": []}),
    ),
    ("POST", "koophone.myhuaweicloud.com", "/v1/instances/reboot", [], b""),
    ("POST", "127.0.0.1:8780", "/v1/instances/batch-query-status", [], _json({"instance_ids": ["x"]})),
    ("GET", "koophone.myhuaweicloud.com:8443", "/v1/instances/tasks/0123456789abcdef0123456789abcdef", [], None),
    (
        "GET",
        "koophone.myhuaweicloud.com",
        "/v1/instances/5srn5hL8/app-list/",
        [("page_no", "1"), ("page_size", "200"), ("app_type", "")],
        None,
    ),
    ("POST", "koophone.myhuaweicloud.com", "/v1/instances/5srn5hL8/auth", [], None),
]


def _headers(host, body, extra):
    headers = {
        "Host": host,
        "X-Sdk-Date": DATE,
        "x-request-id": "7f1b0c8e2d9a4f6b8c3e5a1d0b2c4e6f",
        "X-Project-Id": "0a1b2c3d4e5f60718293a4b5c6d7e8f9",
    }
    if body is not None:
        headers["Content-Type"] = "application/json;charset=UTF-8"
    headers.update(extra)
    return headers


@pytest.mark.parametrize("extra", [{}, {"X-Security-Token": "temporary-token-value"}], ids=["plain", "sts"])
@pytest.mark.parametrize("method,host,path,query,body", CASES)
def test_signature_matches_official_sdk(method, host, path, query, body, extra):
    ours = signer.sign(method, path, query, _headers(host, body, extra), body, AK, SK)

    official = sdk_request.SdkRequest(
        method=method,
        schema="https",
        host=host,
        resource_path=path,
        query_params=list(query),
        header_params=_headers(host, body, extra),
        body=body,
    )
    sdk_signer.Signer(_Credentials()).sign(official)

    assert ours["Authorization"] == official.header_params["Authorization"]
    # What we send must be what we signed: our query string equals the SDK's canonical one.
    sent_query = signer.canonical_query(query)
    assert official.uri == (path + "?" + sent_query if sent_query else path)


def test_signature_changes_with_secret_key_and_body():
    headers = _headers("h", b"{}", {})
    base = signer.sign("POST", "/v1/x", [], headers, b"{}", AK, SK)["Authorization"]
    assert signer.sign("POST", "/v1/x", [], headers, b"{}", AK, SK + "x")["Authorization"] != base
    assert signer.sign("POST", "/v1/x", [], headers, b"{ }", AK, SK)["Authorization"] != base


def test_sign_adds_a_current_date_when_none_given():
    headers = signer.sign("GET", "/v1/x", [], {"Host": "h"}, None, AK, SK, now=0)
    assert headers["X-Sdk-Date"] == "19700101T000000Z"
    assert "SignedHeaders=host;x-sdk-date," in headers["Authorization"]

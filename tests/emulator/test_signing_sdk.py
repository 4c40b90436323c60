"""The AK/SK verifier against the official Huawei Cloud SDK signer (huaweicloudsdkcore, test-only).

Every request here is signed by ``huaweicloudsdkcore`` exactly as the SDK's own clients sign
them, sent with ``requests``, and must be accepted; tampered copies must be refused.
"""

import json
import time
from urllib.parse import urlsplit

import pytest
from emutools import AK, PROJECT_ID, SK

pytest.importorskip(
    "huaweicloudsdkcore",
    reason="huaweicloudsdkcore is not installed (pip install huaweicloudsdkcore requests, test-only): "
    "the AK/SK verifier cannot be checked against the official signer",
)
requests = pytest.importorskip("requests", reason="requests is needed to send the SDK-signed requests")

from huaweicloudsdkcore.auth.credentials import BasicCredentials  # noqa: E402
from huaweicloudsdkcore.sdk_request import SdkRequest  # noqa: E402


class Signed:
    """An SDK-signed request, ready to send (and to tamper with before sending)."""

    def __init__(
        self,
        url,
        method,
        path,
        query=(),
        body=None,
        headers=None,
        security_token=None,
        date=None,
        project_id=PROJECT_ID,
        sk=SK,
    ):
        self.base = url
        header_params = {"Content-Type": "application/json", "x-request-id": "sdk-req-1"}
        if project_id:
            header_params["X-Project-Id"] = project_id  # the SDK's clients add it before signing
        if date:
            header_params["X-Sdk-Date"] = date
        header_params.update(headers or {})
        payload = json.dumps(body) if isinstance(body, (dict, list)) else body
        request = SdkRequest(
            method=method,
            schema="http",
            host=urlsplit(url).netloc,
            resource_path=path,
            query_params=list(query),
            header_params=header_params,
            body=payload,
        )
        credentials = BasicCredentials(AK, sk, project_id)
        if security_token:
            credentials.with_security_token(security_token)
        credentials.sign_request(request)
        self.method, self.uri, self.headers, self.body = method, request.uri, dict(request.header_params), request.body

    def send(self):
        answer = requests.request(self.method, self.base + self.uri, headers=self.headers, data=self.body, timeout=10)
        return answer.status_code, answer.json()


def code(answer):
    status, body = answer
    return status, body.get("error_code") if "error_code" in body else body.get("data", {}).get("error_code")


CASES = {
    "get-simple-query": ("GET", "/v1/instances/batch-query", [("page_no", 1), ("page_size", 5)], None),
    "get-query-with-spaces": (
        "GET",
        "/v1/instances/batch-query",
        [("page_size", 5), ("page_no", 1), ("instance_name", "kp 00001 x")],
        None,
    ),
    "get-query-unicode": (
        "GET",
        "/v1/instances/batch-query",
        [("page_no", 1), ("page_size", 5), ("instance_name", "云手机-测试")],
        None,
    ),
    "get-query-reserved-chars": (
        "GET",
        "/v1/instances/batch-query",
        [("page_no", 1), ("page_size", 5), ("instance_name", "a+b&c=d/e?f#g%h~i*j'k(l)m!:@;,$")],
        None,
    ),
    "get-empty-query-value": (
        "GET",
        "/v1/instances/batch-query",
        [("page_no", 1), ("page_size", 5), ("instance_name", "")],
        None,
    ),
    "get-repeated-key": (
        "GET",
        "/v1/instances/batch-query",
        [("page_no", 1), ("page_size", 5), ("pool_name", ["b", "a"])],
        None,
    ),
    "get-trailing-slash": ("GET", "/v1/instances/sku/", [("type", "0")], None),
    "post-json-body": ("POST", "/v1/instances/batch-query-status", [], "IDS"),
    "post-unicode-json-body": ("POST", "/v1/instances/sync-command", [], "COMMAND"),
    "post-empty-body": ("POST", "/v1/instances/{id}/auth", [], None),
    "put-json-body": ("PUT", "/v1/instances/video-setting", [], "VIDEO"),
}


def video(ids):
    spec = {"code_rate": 4000, "fps": 60}
    groups = [{"definition_540P": spec, "definition_720P": spec, "definition_1080P": spec}]
    return {
        "instance_ids": ids[:1],
        "instance_settings": [
            {"network_type": n, "encoding_type": e, "video_spec_groups": groups}
            for n in ("WIFI", "MOBILE_NETWORK", "WIRED")
            for e in ("H264", "H265")
        ],
    }


def case_request(api, ids, name, **options):
    method, path, query, body = CASES[name]
    body = {
        "IDS": {"instance_ids": ids[:3]},
        "COMMAND": {"command": "echo 你好 'a b'", "instance_ids": ids[:1]},
        "VIDEO": video(ids),
        None: None,
    }[body]
    return Signed(api.url, method, path.replace("{id}", ids[0]), query, body, **options)


@pytest.mark.parametrize("name", sorted(CASES))
def test_sdk_signed_request_is_accepted(emulator, api, ids, name):
    if name == "post-unicode-json-body":
        # The signature verifies, then the strict command character set refuses "你好" and the quotes.
        assert code(case_request(api, ids, name).send()) == (400, "KOOPHONE.API.1000")
        emulator.emulator.settings.command_charset = "any"
    status, error_code = code(case_request(api, ids, name).send())
    assert (status, error_code) == (200, "0")


def test_sdk_host_header_carries_the_non_default_port(api, ids):
    signed = case_request(api, ids, "get-simple-query")
    assert signed.headers["Host"] == urlsplit(api.url).netloc and ":" in signed.headers["Host"]
    assert "host" in signed.headers["Authorization"].split("SignedHeaders=")[1].split(",")[0].split(";")
    signed.headers["Host"] = "127.0.0.1"  # the same server, but not what was signed
    assert code(signed.send()) == (401, "APIGW.0301")


def test_sdk_unsigned_payload_content_type(api, ids):
    # For non-JSON content types the SDK signs the literal UNSIGNED-PAYLOAD instead of the body hash.
    signed = Signed(
        api.url,
        "POST",
        "/v1/instances/batch-query-status",
        body=json.dumps({"instance_ids": ids[:1]}),
        headers={"Content-Type": "text/plain"},
    )
    assert signed.headers["X-Sdk-Content-Sha256"] == "UNSIGNED-PAYLOAD"
    assert code(signed.send()) == (200, "0")


def test_sdk_temporary_credentials(emulator, api, ids):
    emulator.emulator.settings.security_token = "temporary-sts-token"
    signed = case_request(api, ids, "post-json-body", security_token="temporary-sts-token")
    assert signed.headers["X-Security-Token"] == "temporary-sts-token"
    assert code(signed.send()) == (200, "0")
    assert code(case_request(api, ids, "post-json-body").send()) == (401, "APIGW.0301")
    wrong = case_request(api, ids, "post-json-body", security_token="another-token")
    assert code(wrong.send()) == (401, "APIGW.0301")


def tamper_body(signed):
    signed.body = signed.body.replace(b"]", b', "extra0001"]')


def tamper_query(signed):
    signed.uri = signed.uri.replace("page_size=5", "page_size=6")


def tamper_add_query(signed):
    signed.uri += "&instance_id=abc"


def tamper_header(signed):
    signed.headers["x-request-id"] = "sdk-req-2"


def tamper_path(signed):
    # Signed for one instance's /auth, sent for another's: the path is part of the signature.
    signed.uri = signed.uri.replace("/instances/", "/instances/x", 1)


def tamper_signature(signed):
    signature = signed.headers["Authorization"][-64:]
    flipped = ("0" if signature[0] != "0" else "1") + signature[1:]
    signed.headers["Authorization"] = signed.headers["Authorization"][:-64] + flipped


@pytest.mark.parametrize(
    "name, tamper",
    [
        ("post-json-body", tamper_body),
        ("get-simple-query", tamper_query),
        ("get-simple-query", tamper_add_query),
        ("post-json-body", tamper_header),
        ("post-empty-body", tamper_path),
        ("get-query-unicode", tamper_signature),
    ],
)
def test_sdk_tampered_request_is_refused(api, ids, state, name, tamper):
    signed = case_request(api, ids, name)
    tamper(signed)
    status, body = signed.send()
    assert (status, body["error_code"]) == (401, "APIGW.0301")
    assert "signature" in body["error_msg"]


def test_sdk_wrong_secret_key_and_old_date(api, ids):
    assert code(case_request(api, ids, "get-simple-query", sk="another-secret").send()) == (401, "APIGW.0301")
    old = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime(time.time() - 20 * 60))
    assert code(case_request(api, ids, "get-simple-query", date=old).send()) == (401, "APIGW.0301")
    future = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime(time.time() + 20 * 60))
    assert code(case_request(api, ids, "get-simple-query", date=future).send()) == (401, "APIGW.0301")


def test_sdk_project_id_rules(emulator, api, ids):
    # Without a project id the SDK neither sends nor signs X-Project-Id; accepted unless require_project_id.
    unsigned = case_request(api, ids, "get-simple-query", project_id=None)
    assert "x-project-id" not in unsigned.headers["Authorization"].lower()
    assert code(unsigned.send()) == (200, "0")
    emulator.emulator.settings.require_project_id = True
    assert code(case_request(api, ids, "get-simple-query", project_id=None).send()) == (200, "KOOPHONE.API.0005")
    assert code(case_request(api, ids, "get-simple-query", project_id="1" * 32).send()) == (200, "KOOPHONE.API.0004")

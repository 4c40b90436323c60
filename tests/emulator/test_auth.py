"""Authentication: IAM tokens, the static token, and AK/SK rules that need no SDK (see test_signing_sdk.py)."""

import copy
import time

from emutools import IAM_LOGIN, Api, send_signed, serving


def login(api, body=None):
    body = IAM_LOGIN if body is None else body
    return api.call("POST", "/v3/auth/tokens", body=body, token=False, request_id=None)


def test_iam_login_issues_a_project_token(api):
    answer = login(api)
    assert answer.status == 201
    token = answer.headers["x-subject-token"]
    assert len(token) > 200
    body = answer.body["token"]
    assert body["project"]["id"] == "0a1b2c3d4e5f60718293a4b5c6d7e8f9" and body["project"]["name"] == "cn-north-4"
    assert body["expires_at"].endswith("Z") and body["issued_at"].endswith("Z") and body["methods"] == ["password"]
    assert body["user"]["name"] == "demo"
    listed = Api(api.url, token=token).list_page(1, 1)
    assert listed.code == "0"


def test_iam_scope_by_project_id(api):
    body = copy.deepcopy(IAM_LOGIN)
    body["auth"]["scope"] = {"project": {"id": "0a1b2c3d4e5f60718293a4b5c6d7e8f9"}}
    assert login(api, body).status == 201
    body["auth"]["scope"] = {"project": {"name": "eu-west-0"}}
    assert login(api, body).status == 400


def test_iam_wrong_password_and_malformed(api):
    body = copy.deepcopy(IAM_LOGIN)
    body["auth"]["identity"]["password"]["user"]["password"] = "wrong"
    answer = login(api, body)
    assert answer.status == 401
    assert answer.body == {
        "error": {"code": 401, "message": "The username or password is wrong.", "title": "Unauthorized"}
    }
    malformed = login(api, {"auth": {"identity": {}}})
    assert malformed.status == 400 and malformed.body["error"]["code"] == 400
    not_json = api.call("POST", "/v3/auth/tokens", raw=b"{", token=False)
    assert not_json.status == 400


def test_top_level_scope_gives_an_unscoped_token_that_koophone_refuses(api):
    body = copy.deepcopy(IAM_LOGIN)
    body["scope"] = body["auth"].pop("scope")  # the reference's first example
    answer = login(api, body)
    assert answer.status == 201 and "project" not in answer.body["token"]
    refused = Api(api.url, token=answer.headers["x-subject-token"]).list_page(1, 1)
    assert (refused.status, refused.body) == (403, {"error_code": "KOOPHONE.API.6002", "error_msg": "No permission."})


def test_token_expiry_by_ttl_and_by_control_call():
    with serving(token_ttl=1) as server:
        api = Api(server.url)
        token = login(api).headers["x-subject-token"]
        client = Api(server.url, token=token)
        assert client.list_page(1, 1).code == "0"
        time.sleep(1.1)
        expired = client.list_page(1, 1)
        assert (expired.status, expired.body) == (
            401,
            {"error_code": "KOOPHONE.API.6001", "error_msg": "Authenticate Failed!"},
        )
        server.emulator.settings.token_ttl = 3600
        fresh = Api(server.url, token=login(api).headers["x-subject-token"])
        assert fresh.list_page(1, 1).code == "0"
        assert api.control("POST", "expire-tokens", {}).body == {"expired": 2}
        assert fresh.list_page(1, 1).code == "KOOPHONE.API.6001"
        assert api.list_page(1, 1).code == "0"  # the static demo token never expires


def test_missing_and_unknown_credentials_get_the_gateway_answer(api):
    nothing = api.get("/v1/instances/sku", {"type": "0"}, token=False)
    assert nothing.status == 401 and nothing.code == "APIGW.0301"
    assert nothing.body["error_msg"].startswith("Incorrect IAM authentication information: ")
    assert nothing.body["request_id"]
    unknown = Api(api.url, token="not-a-token").get("/v1/instances/sku", {"type": "0"})
    assert (unknown.status, unknown.code) == (401, "APIGW.0301")
    other_scheme = api.get("/v1/instances/sku", {"type": "0"}, token=False, headers={"Authorization": "Basic eA=="})
    assert other_scheme.code == "APIGW.0301"


def test_token_header_name_is_case_insensitive(api):
    answer = api.get("/v1/instances/sku", {"type": "0"}, token=False, headers={"x-AUTH-token": "demo-token"})
    assert answer.code == "0"


def test_request_log_records_auth_kind(api, emulator):
    token = login(api).headers["x-subject-token"]
    Api(api.url, token=token).list_page(1, 1)
    api.list_page(1, 1)
    send_signed(api.url, "GET", "/v1/instances/sku", [("type", "0")])
    kinds = [record["auth"] for record in emulator.emulator.log.since(0)]
    assert kinds == ["none", "iam-token", "token", "aksk"]


# ---------------------------------------------------------------------- AK/SK rules (signed by emutools.sign)


def test_signed_request_accepted(api, ids):
    answer = send_signed(api.url, "POST", "/v1/instances/batch-query-status", body={"instance_ids": ids[:2]})
    assert answer.code == "0" and len(answer.data["status_results"]) == 2
    listed = send_signed(api.url, "GET", "/v1/instances/batch-query", [("page_size", 3), ("page_no", 1)])
    assert len(listed.data["result"]) == 3


def test_aksk_project_header(api, emulator):
    # The reference does not make X-Project-Id mandatory: a signed request without it is accepted.
    missing = send_signed(api.url, "GET", "/v1/instances/sku", [("type", "0")], project_id=None)
    assert (missing.status, missing.code) == (200, "0")
    emulator.emulator.settings.require_project_id = True
    missing = send_signed(api.url, "GET", "/v1/instances/sku", [("type", "0")], project_id=None)
    assert (missing.status, missing.code) == (200, "KOOPHONE.API.0005")
    emulator.emulator.settings.require_project_id = False
    unknown = send_signed(api.url, "GET", "/v1/instances/sku", [("type", "0")], project_id="f" * 32)
    assert (unknown.status, unknown.code) == (200, "KOOPHONE.API.0004")


def test_aksk_rejections(api):
    wrong_sk = send_signed(api.url, "GET", "/v1/instances/sku", [("type", "0")], sk="not-the-secret")
    assert (wrong_sk.status, wrong_sk.code) == (401, "APIGW.0301")
    unknown_ak = send_signed(api.url, "GET", "/v1/instances/sku", [("type", "0")], ak="UNKNOWNAK")
    assert unknown_ak.code == "APIGW.0301" and "UNKNOWNAK" in unknown_ak.body["error_msg"]
    old = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime(time.time() - 16 * 60))
    skewed = send_signed(api.url, "GET", "/v1/instances/sku", [("type", "0")], date=old)
    assert skewed.code == "APIGW.0301" and "15 minutes" in skewed.body["error_msg"]
    recent = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime(time.time() - 14 * 60))
    assert send_signed(api.url, "GET", "/v1/instances/sku", [("type", "0")], date=recent).code == "0"


def test_security_token_required_when_configured(emulator, api):
    emulator.emulator.settings.security_token = "sts-token-1"
    without = send_signed(api.url, "GET", "/v1/instances/sku", [("type", "0")])
    assert (without.status, without.code) == (401, "APIGW.0301")
    wrong = send_signed(api.url, "GET", "/v1/instances/sku", [("type", "0")], headers={"X-Security-Token": "x"})
    assert wrong.code == "APIGW.0301"
    right = send_signed(
        api.url, "GET", "/v1/instances/sku", [("type", "0")], headers={"X-Security-Token": "sts-token-1"}
    )
    assert right.code == "0"

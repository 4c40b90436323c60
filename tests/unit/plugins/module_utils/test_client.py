"""Client behaviour that needs exact control over answers: retries, errors, paging, batching, auth."""

import os
import stat

import pytest
from stub_server import DROP, StubServer

from ansible_collections.koophone.cloud.plugins.module_utils import _client as client_module
from ansible_collections.koophone.cloud.plugins.module_utils._client import KooPhoneClient
from ansible_collections.koophone.cloud.plugins.module_utils._errors import (
    InvalidOption,
    KooPhoneAuthError,
    KooPhoneError,
)

OK = (200, {}, {"error_code": "0", "error_msg": "ok", "data": {}})


@pytest.fixture(autouse=True)
def no_sleep(monkeypatch):
    slept = []
    monkeypatch.setattr(client_module.time, "sleep", slept.append)
    return slept


@pytest.fixture
def stub():
    server = StubServer()
    yield server
    server.stop()


def make_client(stub, **params):
    params.setdefault("auth_token", "token-under-test")
    params.setdefault("retries", 3)
    return KooPhoneClient(dict(params, endpoint=stub.url, iam_endpoint=stub.url))


def test_success_needs_error_code_zero(stub):
    stub.script = [(200, {}, {"error_code": "KOOPHONE.API.4001", "error_msg": "instance not exist."})]
    with pytest.raises(KooPhoneError) as raised:
        make_client(stub).call("BatchShowInstance", body={"instance_ids": ["a"]})
    error = raised.value
    assert (error.operation, error.status, error.error_code) == ("BatchShowInstance", 200, "KOOPHONE.API.4001")
    assert error.error_msg == "instance not exist."
    assert error.request_id == stub.requests[0]["headers"]["x-request-id"]
    assert error.request_id in str(error)


def test_error_info_field_and_data_error_code_are_read(stub):
    stub.script = [
        (400, {}, {"error_code": "KOOPHONE.API.1000", "error_info": "bad command"}),
        (200, {}, {"data": {"error_code": "KOOPHONE.API.5002", "error_msg": "bad time"}}),
    ]
    client = make_client(stub)
    with pytest.raises(KooPhoneError, match="bad command"):
        client.call("SyncInvokeInstance", body={})
    with pytest.raises(KooPhoneError, match="bad time"):
        client.call("ListInstances", query={"page_no": 1})


def test_non_json_body_is_a_clear_error(stub):
    stub.script = [(200, {"Content-Type": "text/html"}, b"<html>gateway says hello</html>")]
    with pytest.raises(KooPhoneError) as raised:
        make_client(stub).call("BatchShowSku", query={"type": "0"})
    assert "not JSON" in str(raised.value) and "gateway says hello" in str(raised.value)
    assert raised.value.status == 200


def test_every_call_carries_a_request_id_and_batch_query_also_in_the_query(stub):
    client = make_client(stub)
    client.call("BatchShowSku", query={"type": "0"})
    client.call("ListInstances", query={"page_no": 1, "page_size": 100})
    first, second = stub.requests
    assert len(first["headers"]["x-request-id"]) == 32
    assert second["query"]["x-request-id"] == second["headers"]["x-request-id"]
    assert first["headers"]["x-request-id"] != second["headers"]["x-request-id"]


def test_429_is_retried_after_retry_after_even_for_unsafe_operations(stub, no_sleep):
    stub.script = [(429, {"Retry-After": "2"}, {"error_code": "APIGW.0308", "error_msg": "throttled"}), OK]
    make_client(stub).call("SyncInvokeInstance", body={"instance_ids": ["a"], "command": "id"})
    assert len(stub.requests) == 2
    assert 2.0 <= no_sleep[0] <= 2.5


def test_5xx_is_retried_for_safe_operations(stub, no_sleep):
    stub.script = [(503, {}, {"error_code": "KOOPHONE.API.9999"}), (500, {}, b"oops"), OK]
    make_client(stub).call("BatchShowSku", query={"type": "0"})
    assert len(stub.requests) == 3
    assert len(no_sleep) == 2


def test_5xx_on_unsafe_operation_is_not_repeated(stub):
    stub.script = [(500, {}, {"error_code": "KOOPHONE.API.9999", "error_msg": "unknown error."}), OK]
    with pytest.raises(KooPhoneError) as raised:
        make_client(stub).call("BatchRebootInstance", body={"instance_ids": ["a"]})
    assert len(stub.requests) == 1
    assert raised.value.maybe_applied is True
    assert raised.value.status == 500


def test_dropped_connection_is_retried_for_safe_operations_only(stub):
    stub.script = [DROP, OK]
    make_client(stub).call("ListInstances", query={"page_no": 1})
    assert len(stub.requests) == 2

    stub.requests.clear()
    stub.script = [DROP, OK]
    with pytest.raises(KooPhoneError) as raised:
        make_client(stub).call("CreateInstance", body={"count": 1})
    assert len(stub.requests) == 1
    assert raised.value.maybe_applied is True
    assert "connection broke" in str(raised.value)


def test_connection_refused_is_retried_and_reported_as_not_applied(no_sleep):
    client = KooPhoneClient({"endpoint": "http://127.0.0.1:9", "auth_token": "t", "retries": 2})
    with pytest.raises(KooPhoneError) as raised:
        client.call("CreateInstance", body={"count": 1})
    assert raised.value.maybe_applied is False
    assert client.request_count == 3
    assert len(no_sleep) == 2


def test_retries_stop_at_the_limit(stub):
    stub.default = (503, {}, {"error_code": "KOOPHONE.API.9999"})
    with pytest.raises(KooPhoneError) as raised:
        make_client(stub, retries=2).call("BatchShowSku", query={"type": "0"})
    assert len(stub.requests) == 3
    assert raised.value.status == 503


def _iam_answer(token):
    return (
        201,
        {"X-Subject-Token": token},
        {"token": {"expires_at": "2099-01-01T00:00:00.000000Z", "issued_at": "2098-12-31T00:00:00.000000Z"}},
    )


def _iam_params(tmp_path):
    return {
        "auth_token": None,
        "username": "demo",
        "password": "s3cret-password",
        "domain_name": "demo-domain",
        "project_name": "cn-north-4",
        "token_cache_dir": str(tmp_path),
    }


def test_iam_login_token_is_cached_0600_without_the_password(stub, tmp_path):
    stub.script = [_iam_answer("issued-token-1"), OK, OK]
    first = make_client(stub, **_iam_params(tmp_path))
    first.call("BatchShowSku", query={"type": "0"})
    login = stub.requests[0]
    assert login["path"] == "/v3/auth/tokens"
    assert login["body"]["auth"]["scope"] == {"project": {"name": "cn-north-4"}}
    assert stub.requests[1]["headers"]["X-Auth-Token"] == "issued-token-1"

    (cache_file,) = list(tmp_path.iterdir())
    assert stat.S_IMODE(os.stat(str(cache_file)).st_mode) == 0o600
    assert "s3cret-password" not in cache_file.read_text()

    second = make_client(stub, **_iam_params(tmp_path))  # a later task of the same play
    second.call("BatchShowSku", query={"type": "0"})
    assert [r["path"] for r in stub.requests].count("/v3/auth/tokens") == 1


def test_expired_iam_token_is_renewed_once(stub, tmp_path):
    expired = (401, {}, {"error_code": "KOOPHONE.API.6001", "error_msg": "Authenticate Failed!"})
    stub.script = [_iam_answer("old"), expired, _iam_answer("new"), OK]
    make_client(stub, **_iam_params(tmp_path)).call("BatchShowSku", query={"type": "0"})
    assert stub.requests[3]["headers"]["X-Auth-Token"] == "new"

    stub.requests.clear()
    stub.script = [expired, _iam_answer("newer"), expired]
    with pytest.raises(KooPhoneAuthError) as raised:
        make_client(stub, **_iam_params(tmp_path)).call("BatchShowSku", query={"type": "0"})
    assert raised.value.error_code == "KOOPHONE.API.6001"
    assert len(stub.requests) == 3


def test_iam_error_shape_and_no_password_in_message(stub, tmp_path):
    stub.script = [(401, {}, {"error": {"code": 401, "message": "The username or password is wrong."}})]
    with pytest.raises(KooPhoneAuthError) as raised:
        make_client(stub, **_iam_params(tmp_path)).call("BatchShowSku", query={"type": "0"})
    assert raised.value.error_code == "401"
    assert "password is wrong" in str(raised.value)
    assert "s3cret-password" not in str(raised.value)


def test_aksk_401_is_never_retried(stub):
    stub.script = [(401, {}, {"error_code": "APIGW.0301", "error_msg": "Incorrect IAM authentication information"})]
    client = make_client(stub, auth_token=None, access_key="AK", secret_key="SK", project_id="p1")
    with pytest.raises(KooPhoneAuthError):
        client.call("BatchShowSku", query={"type": "0"})
    assert len(stub.requests) == 1
    headers = stub.requests[0]["headers"]
    assert headers["Authorization"].startswith("SDK-HMAC-SHA256 Access=AK, SignedHeaders=")
    assert headers["X-Project-Id"] == "p1"


@pytest.mark.parametrize(
    "params,option",
    [
        ({}, "auth_token"),
        ({"access_key": "AK"}, "secret_key"),
        ({"secret_key": "SK"}, "access_key"),
        ({"access_key": "AK", "secret_key": "SK"}, "project_id"),
        ({"username": "u", "password": "p"}, "domain_name"),
        ({"username": "u", "password": "p", "domain_name": "d"}, "project_name"),
    ],
)
def test_missing_credentials_name_the_option(params, option):
    with pytest.raises(InvalidOption) as raised:
        KooPhoneClient(dict(params, endpoint="http://127.0.0.1:9"))
    assert raised.value.option == option


def _page(items, total, inside_data=True):
    paging = {"page_no": 1, "page_size": 100, "total_count": total}
    data = dict(result=items, **paging) if inside_data else {"result": items}
    answer = {"data": data}
    if not inside_data:
        answer.update(paging, error_code="0", error_msg="OK")
    return answer


@pytest.mark.parametrize("inside_data", [True, False], ids=["paging-in-data", "paging-top-level"])
def test_list_all_reads_every_page(stub, inside_data):
    def answer(request):
        page = int(request["query"]["page_no"])
        size = int(request["query"]["page_size"])
        ids = [{"instance_id": "i%03d" % n} for n in range((page - 1) * size, min(page * size, 250))]
        return 200, {}, _page(ids, 250, inside_data)

    stub.default = answer
    items = make_client(stub).list_all("ListInstances", {"instance_name": "x"}, page_size=100)
    assert [item["instance_id"] for item in items] == ["i%03d" % n for n in range(250)]
    assert sorted(int(r["query"]["page_no"]) for r in stub.requests) == [1, 2, 3]
    assert all(r["query"]["instance_name"] == "x" for r in stub.requests)


def test_list_all_pages_by_what_the_service_serves(stub):
    def answer(request):
        page = int(request["query"]["page_no"])
        items = [{"instance_id": "i%d" % n} for n in range((page - 1) * 50, min(page * 50, 120))]
        return 200, {}, {"data": {"result": items, "page_no": page, "page_size": 50, "total_count": 120}}

    stub.default = answer
    items = make_client(stub).list_all("ListInstances", page_size=200, key="instance_id")
    assert len(items) == 120 and len({i["instance_id"] for i in items}) == 120
    assert len(stub.requests) == 3


def test_call_batched_chunks_and_keeps_failures_per_chunk(stub):
    def answer(request):
        ids = request["body"]["instance_ids"]
        if "bad" in ids[0]:
            return 200, {}, {"error_code": "KOOPHONE.API.1012", "error_msg": "not yours"}
        return 200, {}, {"error_code": "0", "data": {"status_results": [{"instance_id": i} for i in ids]}}

    stub.default = answer
    ids = ["ok%03d" % n for n in range(100)] + ["bad%03d" % n for n in range(100)] + ["ok%03d" % n for n in range(50)]
    chunks = make_client(stub).call_batched("BatchShowInstance", ids, lambda chunk: {"instance_ids": chunk})
    assert [len(c.ids) for c in chunks] == [100, 100, 50]
    assert [c.failed for c in chunks] == [False, True, False]
    assert chunks[1].error.error_code == "KOOPHONE.API.1012"
    assert chunks[2].answer["data"]["status_results"][0]["instance_id"] == "ok000"


def test_backup_chunks_by_fifty():
    client = KooPhoneClient({"endpoint": "http://127.0.0.1:9", "auth_token": "t"})
    seen = []
    client.call = lambda name, body=None, **kw: seen.append(len(body["instance_ids"])) or {}
    client.call_batched("BatchBackupInstances", ["i%d" % n for n in range(120)], lambda c: {"instance_ids": c})
    assert sorted(seen) == [20, 50, 50]


def test_poll_until_done_or_timeout(monkeypatch):
    clock = [0.0]
    monkeypatch.setattr(client_module.time, "time", lambda: clock[0])
    monkeypatch.setattr(client_module.time, "sleep", lambda s: clock.__setitem__(0, clock[0] + s))
    reads = iter(range(100))
    done, value = KooPhoneClient.poll(lambda: next(reads), lambda v: v == 3, wait_timeout=60)
    assert (done, value) == (True, 3)
    done, value = KooPhoneClient.poll(lambda: "pending", lambda v: False, wait_timeout=10)
    assert done is False and clock[0] >= 10

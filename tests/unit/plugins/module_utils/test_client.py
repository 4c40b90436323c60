"""_client: answers and errors, retries, IAM and AK/SK over HTTP (the scripted server), and batching,
paging, per-id reads, concurrency and polling (the fake service behind the real client)."""

import os
import stat

import pytest
import requests
from urllib3.exceptions import ConnectTimeoutError, MaxRetryError, NewConnectionError, ProtocolError

from ansible_collections.koophone.cloud.plugins.module_utils import _client as client_module
from ansible_collections.koophone.cloud.plugins.module_utils._client import (
    KooPhoneClient,
    base_url,
    may_have_reached_service,
)
from ansible_collections.koophone.cloud.plugins.module_utils._errors import (
    InvalidOption,
    KooPhoneAuthError,
    KooPhoneError,
    KooPhonePermissionError,
)

OK = (200, {}, {"error_code": "0", "error_msg": "ok", "data": {}})


def read_skus(client):
    return client.call("BatchShowSku", query={"type": "0"})


# ---------------------------------------------------------------- answers and errors


def test_success_needs_error_code_zero(stub, http_client):
    stub.script = [(200, {}, {"error_code": "KOOPHONE.API.4001", "error_msg": "instance not exist."})]
    with pytest.raises(KooPhoneError) as raised:
        http_client().call("BatchShowInstance", body={"instance_ids": ["a"]})
    error = raised.value
    assert (error.operation, error.status, error.error_code) == ("BatchShowInstance", 200, "KOOPHONE.API.4001")
    assert error.error_msg == "instance not exist."
    assert error.request_id == stub.requests[0]["headers"]["x-request-id"]
    assert error.request_id in str(error)


def test_error_info_field_and_data_error_code_are_read(stub, http_client):
    stub.script = [
        (400, {}, {"error_code": "KOOPHONE.API.1000", "error_info": "bad command"}),
        (200, {}, {"data": {"error_code": "KOOPHONE.API.5002", "error_msg": "bad time"}}),
    ]
    client = http_client()
    with pytest.raises(KooPhoneError, match="bad command"):
        client.call("SyncInvokeInstance", body={})
    with pytest.raises(KooPhoneError, match="bad time"):
        client.call("ListInstances", query={"page_no": 1})


@pytest.mark.parametrize(
    "status,words",
    [
        (301, "HTTP 301 (a redirect, which the client does not follow) although its error_code says success"),
        (404, "HTTP 404 although its error_code says success"),
        (503, "HTTP 503 although its error_code says success, and still did after every retry"),
    ],
)
def test_error_code_zero_with_an_error_status_is_an_error_naming_the_status(stub, http_client, status, words):
    stub.default = (status, {}, {"error_code": "0", "error_msg": "ok"})
    with pytest.raises(KooPhoneError) as raised:
        read_skus(http_client(retries=1))
    assert words in str(raised.value)
    assert (raised.value.operation, raised.value.status, raised.value.error_code) == ("BatchShowSku", status, "0")


@pytest.mark.parametrize(
    "error_msg,shown",
    [(5, "5"), (["not", "running"], '["not", "running"]'), ({"reason": "internal"}, '{"reason": "internal"}')],
)
def test_an_error_message_that_is_not_text_is_shown_as_text(stub, http_client, error_msg, shown):
    stub.script = [(400, {}, {"error_code": "KOOPHONE.API.1000", "error_msg": error_msg})]
    with pytest.raises(KooPhoneError) as raised:
        read_skus(http_client())
    assert raised.value.message == shown and raised.value.error_msg == shown
    assert str(raised.value).startswith(shown + " (")


def test_json_nested_past_the_parser_stack_is_a_clear_error(stub, http_client):
    stub.script = [(200, {"Content-Type": "application/json"}, b"[" * 100000)]
    with pytest.raises(KooPhoneError, match="not JSON"):
        read_skus(http_client())


@pytest.mark.parametrize(
    "value",
    ["Sat, 01 Jan 99999 00:00:00", "Sat, 01 Jan 99999999999 00:00:00", "Mon, 99 Foo 2020 99:99:99 GMT", "soon"],
)
def test_a_retry_after_no_clock_can_hold_gives_no_hint(value):
    assert client_module._retry_after_seconds(value) is None


def test_a_retry_after_date_or_number_is_read():
    assert client_module._retry_after_seconds("2.5") == 2.5
    assert client_module._retry_after_seconds("-5") == 0.0
    assert client_module._retry_after_seconds("Wed, 21 Oct 2015 07:28:00 GMT") == 0.0  # in the past


def test_non_json_body_is_a_clear_error(stub, http_client):
    stub.script = [(200, {"Content-Type": "text/html"}, b"<html>gateway says hello</html>")]
    with pytest.raises(KooPhoneError) as raised:
        read_skus(http_client())
    assert "not JSON" in str(raised.value) and "gateway says hello" in str(raised.value)
    assert raised.value.status == 200


def test_every_call_carries_a_request_id_and_batch_query_also_in_the_query(stub, http_client):
    client = http_client()
    read_skus(client)
    client.call("ListInstances", query={"page_no": 1, "page_size": 100})
    first, second = stub.requests
    assert len(first["headers"]["x-request-id"]) == 32
    assert second["query"]["x-request-id"] == second["headers"]["x-request-id"]
    assert first["headers"]["x-request-id"] != second["headers"]["x-request-id"]


# ---------------------------------------------------------------- retries


def test_429_is_retried_after_retry_after_even_for_unsafe_operations(stub, http_client, clock):
    stub.script = [(429, {"Retry-After": "2"}, {"error_code": "APIGW.0308", "error_msg": "throttled"}), OK]
    http_client().call("SyncInvokeInstance", body={"instance_ids": ["a"], "command": "id"})
    assert len(stub.requests) == 2
    assert 2.0 <= clock.slept[0] <= 2.5


def test_5xx_is_retried_for_safe_operations(stub, http_client, clock):
    stub.script = [(503, {}, {"error_code": "KOOPHONE.API.9999"}), (500, {}, b"oops"), OK]
    read_skus(http_client())
    assert len(stub.requests) == 3
    assert len(clock.slept) == 2


def test_5xx_on_unsafe_operation_is_not_repeated(stub, http_client):
    stub.script = [(500, {}, {"error_code": "KOOPHONE.API.9999", "error_msg": "unknown error."}), OK]
    with pytest.raises(KooPhoneError) as raised:
        http_client().call("BatchRebootInstance", body={"instance_ids": ["a"]})
    assert len(stub.requests) == 1
    assert raised.value.maybe_applied is True
    assert raised.value.status == 500


@pytest.mark.parametrize("fault", ["drop", "cut"])
def test_a_broken_connection_is_retried_for_safe_operations_only(stub, http_client, fault):
    broken = stub.DROP if fault == "drop" else stub.CUT  # before any answer, or halfway through its body
    stub.script = [broken, OK]
    http_client().call("ListInstances", query={"page_no": 1})
    assert len(stub.requests) == 2

    stub.requests.clear()
    stub.script = [broken, OK]
    with pytest.raises(KooPhoneError) as raised:
        http_client().call("CreateInstance", body={"count": 1})
    assert len(stub.requests) == 1
    assert raised.value.maybe_applied is True
    assert "connection broke" in str(raised.value) and "could not be sent" not in str(raised.value)


def test_connection_refused_is_retried_and_reported_as_not_applied(clock):
    client = KooPhoneClient({"endpoint": "http://127.0.0.1:9", "auth_token": "t", "retries": 2})
    with pytest.raises(KooPhoneError) as raised:
        client.call("CreateInstance", body={"count": 1})
    assert raised.value.maybe_applied is False
    assert client.request_count == 3
    assert len(clock.slept) == 2


def test_retries_stop_at_the_limit(stub, http_client):
    stub.default = (503, {}, {"error_code": "KOOPHONE.API.9999"})
    with pytest.raises(KooPhoneError) as raised:
        read_skus(http_client(retries=2))
    assert len(stub.requests) == 3
    assert raised.value.status == 503


def _connection_error(reason, wrapped=True):
    return requests.exceptions.ConnectionError(MaxRetryError(None, "https://h/", reason=reason) if wrapped else reason)


REFUSED = NewConnectionError(None, "Failed to establish a new connection: [Errno 111] Connection refused")
RESET = ProtocolError("Connection aborted.", ConnectionResetError(104, "Connection reset by peer"))


@pytest.mark.parametrize(
    "error,reached",
    [
        (_connection_error(REFUSED), False),
        (_connection_error(REFUSED, wrapped=False), False),
        (_connection_error(ConnectTimeoutError("connect timed out")), False),
        (requests.exceptions.ConnectTimeout("connect timed out"), False),
        (requests.exceptions.ReadTimeout("read timed out"), True),
        (_connection_error(RESET), True),
        (_connection_error(RESET, wrapped=False), True),
        (requests.exceptions.InvalidURL("bad url"), False),
        (requests.exceptions.InvalidHeader("bad header"), False),
    ],
    ids=[
        "refused",
        "refused-unwrapped",
        "connect-timeout-inside",
        "ConnectTimeout",
        "ReadTimeout",
        "reset",
        "reset-unwrapped",
        "InvalidURL",
        "InvalidHeader",
    ],
)
def test_whether_a_failed_request_may_have_reached_the_service_is_read_from_the_types(error, reached):
    assert may_have_reached_service(error) is reached


def test_a_message_that_reads_like_a_refusal_does_not_make_a_broken_connection_safe():
    # The text says "refused", the type says the connection was made: the type decides.
    error = requests.exceptions.ConnectionError(ProtocolError("Connection refused by peer after the request"))
    assert may_have_reached_service(error) is True


# ---------------------------------------------------------------- authentication over HTTP


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


def _paths(stub):
    return [request["path"] for request in stub.requests]


def test_iam_login_token_is_cached_0600_without_the_password(stub, http_client, tmp_path):
    stub.script = [_iam_answer("issued-token-1"), OK, OK]
    read_skus(http_client(**_iam_params(tmp_path)))
    login = stub.requests[0]
    assert login["path"] == "/v3/auth/tokens"
    assert login["body"]["auth"]["scope"] == {"project": {"name": "cn-north-4"}}
    assert stub.requests[1]["headers"]["X-Auth-Token"] == "issued-token-1"

    (cache_file,) = list(tmp_path.iterdir())
    assert stat.S_IMODE(os.stat(str(cache_file)).st_mode) == 0o600
    assert "s3cret-password" not in cache_file.read_text()

    read_skus(http_client(**_iam_params(tmp_path)))  # a later task of the same play
    assert _paths(stub).count("/v3/auth/tokens") == 1


def test_expired_iam_token_is_renewed_once(stub, http_client, tmp_path):
    expired = (401, {}, {"error_code": "KOOPHONE.API.6001", "error_msg": "Authenticate Failed!"})
    stub.script = [_iam_answer("old"), expired, _iam_answer("new"), OK]
    read_skus(http_client(**_iam_params(tmp_path)))
    assert _paths(stub) == ["/v3/auth/tokens", "/v1/instances/sku", "/v3/auth/tokens", "/v1/instances/sku"]
    assert stub.requests[3]["headers"]["X-Auth-Token"] == "new"

    stub.requests.clear()
    stub.script = [expired, _iam_answer("newer"), expired]
    with pytest.raises(KooPhoneAuthError) as raised:
        read_skus(http_client(**_iam_params(tmp_path)))
    assert raised.value.error_code == "KOOPHONE.API.6001"
    assert len(stub.requests) == 3


@pytest.mark.parametrize("code", ["KOOPHONE.API.1001", "KOOPHONE.API.1003"])
def test_a_401_about_the_instances_or_the_tenant_is_no_reason_to_log_in_again(stub, http_client, tmp_path, code):
    # The reference sends 1001 and 1003 with HTTP 401, like an expired token: the code tells them apart.
    stub.script = [_iam_answer("token"), (401, {}, {"error_code": code, "error_msg": "no permission"})]
    with pytest.raises(KooPhonePermissionError) as raised:
        http_client(**_iam_params(tmp_path)).call("BatchRebootInstance", body={"instance_ids": ["a"]})
    assert raised.value.error_code == code and raised.value.status == 401
    assert _paths(stub) == ["/v3/auth/tokens", "/v1/instances/reboot"]


def test_iam_error_shape_and_no_password_in_message(stub, http_client, tmp_path):
    stub.script = [(401, {}, {"error": {"code": 401, "message": "The username or password is wrong."}})]
    with pytest.raises(KooPhoneAuthError) as raised:
        read_skus(http_client(**_iam_params(tmp_path)))
    assert raised.value.error_code == "401"
    assert "password is wrong" in str(raised.value)
    assert "s3cret-password" not in str(raised.value)


def test_aksk_401_is_never_retried(stub, http_client):
    stub.script = [(401, {}, {"error_code": "APIGW.0301", "error_msg": "Incorrect IAM authentication information"})]
    client = http_client(auth_token=None, access_key="AK", secret_key="SK", project_id="p1")
    with pytest.raises(KooPhoneAuthError):
        read_skus(client)
    assert len(stub.requests) == 1
    headers = stub.requests[0]["headers"]
    assert headers["Authorization"].startswith("SDK-HMAC-SHA256 Access=AK, SignedHeaders=")
    assert headers["X-Project-Id"] == "p1"


def test_aksk_without_project_id_signs_without_x_project_id(stub, http_client):
    stub.script = [(200, {}, {"error_code": "0", "data": {}})]
    read_skus(http_client(auth_token=None, access_key="AK", secret_key="SK", project_id=None))
    headers = stub.requests[0]["headers"]
    assert headers["Authorization"].startswith("SDK-HMAC-SHA256 Access=AK, SignedHeaders=")
    assert "X-Project-Id" not in headers
    assert "x-project-id" not in headers["Authorization"]


# ---------------------------------------------------------------- options the client checks


@pytest.mark.parametrize(
    "value,expected",
    [
        ("https://koophone.example.com/v1", "https://koophone.example.com"),
        ("https://koophone.example.com/v1/", "https://koophone.example.com"),
        ("https://koophone.example.com/", "https://koophone.example.com"),
        ("  http://127.0.0.1:8780  ", "http://127.0.0.1:8780"),
        ("https://gateway.example.com/koophone/v1", "https://gateway.example.com/koophone"),
        (None, "https://default.example.com"),
    ],
)
def test_base_url_keeps_scheme_host_and_path_without_v1(value, expected):
    assert base_url("endpoint", value, "https://default.example.com") == expected


@pytest.mark.parametrize("option", ["endpoint", "iam_endpoint"])
@pytest.mark.parametrize("value", ["ftp://x", "127.0.0.1:8780", "", "   ", "https://h/v1?x=1", "https:///v1"])
def test_a_base_url_that_is_not_an_http_url_names_the_option(option, value):
    with pytest.raises(InvalidOption) as raised:
        KooPhoneClient({option: value, "auth_token": "t"})
    assert raised.value.option == option
    assert str(raised.value).startswith(option + ": ")


@pytest.mark.parametrize("value", ["s3cr3t\nvalue", "s3cr3t\rvalue", "s3cr3t\x00", "s3cr3t\x7fvalue"])
def test_a_control_character_in_auth_token_is_refused_without_echoing_it(value):
    with pytest.raises(InvalidOption) as raised:
        KooPhoneClient({"auth_token": value})
    assert raised.value.option == "auth_token"
    assert "control character" in str(raised.value)
    assert "s3cr3t" not in str(raised.value)


def test_a_ca_path_that_does_not_exist_names_ca_path(tmp_path):
    missing = str(tmp_path / "no-such-bundle.pem")
    with pytest.raises(InvalidOption) as raised:
        KooPhoneClient({"auth_token": "t", "ca_path": missing})
    assert raised.value.option == "ca_path" and missing in str(raised.value)
    bundle = tmp_path / "bundle.pem"
    bundle.write_text("")
    assert KooPhoneClient({"auth_token": "t", "ca_path": str(bundle)}).verify == str(bundle)
    assert KooPhoneClient({"auth_token": "t", "ca_path": str(tmp_path)}).verify == str(tmp_path)
    assert KooPhoneClient({"auth_token": "t", "validate_certs": False}).verify is False


# ---------------------------------------------------------------- paging


def _page(items, total, inside_data=True):
    paging = {"page_no": 1, "page_size": 100, "total_count": total}
    data = dict(result=items, **paging) if inside_data else {"result": items}
    answer = {"data": data}
    if not inside_data:
        answer.update(paging, error_code="0", error_msg="OK")
    return answer


@pytest.mark.parametrize("inside_data", [True, False], ids=["paging-in-data", "paging-top-level"])
def test_list_all_reads_every_page(stub, http_client, inside_data):
    def answer(request):
        page = int(request["query"]["page_no"])
        size = int(request["query"]["page_size"])
        ids = [{"instance_id": "i%03d" % n} for n in range((page - 1) * size, min(page * size, 250))]
        return 200, {}, _page(ids, 250, inside_data)

    stub.default = answer
    items = http_client().list_all("ListInstances", {"instance_name": "x"}, page_size=100)
    assert [item["instance_id"] for item in items] == ["i%03d" % n for n in range(250)]
    assert sorted(int(r["query"]["page_no"]) for r in stub.requests) == [1, 2, 3]
    assert all(r["query"]["instance_name"] == "x" for r in stub.requests)


def _pages_asked(service):
    return [(call.query["page_no"], call.query["page_size"]) for call in service.calls_to("ListInstances")]


def test_list_all_pages_by_what_the_service_serves(fleet, make_client):
    fleet.add(*range(1, 121))
    fleet.page_cap = 50
    items = make_client(fleet).list_all("ListInstances", page_size=200, key="instance_id")
    assert len(items) == 120 and len({i["instance_id"] for i in items}) == 120
    assert _pages_asked(fleet) == [(1, 200), (2, 50), (3, 50)]


def test_a_service_that_serves_fewer_than_asked_but_echoes_the_size_asked(fleet, make_client):
    fleet.add(*range(1, 251))
    fleet.page_cap = 100  # echoes page_size 200 while it serves 100
    items = make_client(fleet, concurrency=4).list_all("ListInstances", page_size=200, key="instance_id")
    assert [item["instance_id"] for item in items] == fleet.ids()
    assert sorted(_pages_asked(fleet)) == [(1, 200), (2, 100), (3, 100)]


def test_a_listing_short_of_total_count_is_read_again_then_refused(service, make_client):
    def answer(call):
        page, size = call.query["page_no"], call.query["page_size"]
        items = [{"instance_id": "i%03d" % n} for n in range((page - 1) * size, min(page * size, 250))]
        return {"data": {"result": items, "page_no": page, "page_size": size, "total_count": 300}}

    service.on("ListInstances", answer)
    with pytest.raises(KooPhoneError) as raised:
        make_client(service).list_all("ListInstances", page_size=100, key="instance_id")
    assert "incomplete" in str(raised.value) and "250 items received of total_count 300" in str(raised.value)
    assert [page for page, _size in _pages_asked(service)] == [1, 2, 3, 1, 2, 3]


def test_a_total_count_that_changes_between_pages_is_read_again(service, make_client):
    readings = {"pages": 0}

    def answer(call):
        readings["pages"] += 1
        page = call.query["page_no"]
        total = 251 if readings["pages"] == 2 else 250  # one phone came and went while page 2 was read
        items = [{"instance_id": "i%03d" % n} for n in range((page - 1) * 100, min(page * 100, 250))]
        return {"data": {"result": items, "page_no": page, "page_size": 100, "total_count": total}}

    service.on("ListInstances", answer)
    items = make_client(service).list_all("ListInstances", page_size=100, key="instance_id")
    assert [item["instance_id"] for item in items] == ["i%03d" % n for n in range(250)]
    assert [page for page, _size in _pages_asked(service)] == [1, 2, 3, 1, 2, 3]


def test_an_item_seen_on_two_pages_is_kept_once_with_a_key(service, make_client):
    pages = {
        1: [{"instance_id": "a"}, {"instance_id": "b"}],
        2: [{"instance_id": "b"}, {"instance_id": "c"}],  # the fleet shifted by one between the pages
        3: [],
    }
    service.on(
        "ListInstances",
        lambda call: {"data": {"result": pages[call.query["page_no"]], "total_count": 3}},
    )
    items = make_client(service).list_all("ListInstances", page_size=2, key="instance_id")
    assert [item["instance_id"] for item in items] == ["a", "b", "c"]


def test_without_total_count_pages_are_read_until_one_comes_back_short(service, make_client):
    everything = [{"instance_id": "i%d" % n} for n in range(5)]
    service.on(
        "ListInstances",
        lambda call: {"data": everything[(call.query["page_no"] - 1) * 2 : call.query["page_no"] * 2]},
    )
    assert make_client(service).list_all("ListInstances", page_size=2) == everything
    assert [page for page, _size in _pages_asked(service)] == [1, 2, 3]


@pytest.mark.parametrize("key", ["instance_id", None])
def test_a_service_that_ignores_page_no_is_refused_not_read_for_ever(service, make_client, key):
    """The same full page whatever page_no asks, no total_count: read twice (page 2 repeats page 1), then refused."""
    service.on("ListInstances", {"data": {"result": [{"instance_id": "a"}, {"instance_id": "b"}]}})
    with pytest.raises(KooPhoneError) as raised:
        make_client(service).list_all("ListInstances", page_size=2, key=key)
    assert "page 2 repeats items already read" in str(raised.value) and "page_no" in str(raised.value)
    assert raised.value.operation == "ListInstances"
    assert [page for page, _size in _pages_asked(service)] == [1, 2, 1, 2]


def test_a_page_with_only_items_already_read_ends_the_reading_with_a_key(service, make_client):
    pages = {1: [{"instance_id": "a"}, {"instance_id": "b"}], 2: [{"instance_id": "b"}, {"instance_id": "a"}]}
    service.on("ListInstances", lambda call: {"data": {"result": pages.get(call.query["page_no"], [])}})
    with pytest.raises(KooPhoneError, match="page 2 repeats items already read"):
        make_client(service).list_all("ListInstances", page_size=2, key="instance_id")


@pytest.mark.parametrize("total", [client_module.MAX_LISTED_ITEMS + 1, 10**18, 10**30])
def test_a_total_count_past_any_fleet_is_refused_before_page_2(service, make_client, total):
    service.on("ListInstances", {"data": {"result": [{"instance_id": "a"}], "total_count": total}})
    with pytest.raises(KooPhoneError) as raised:
        make_client(service).list_all("ListInstances", page_size=100, key="instance_id")
    assert "total_count %d" % total in str(raised.value) and "no fleet is that large" in str(raised.value)
    assert [page for page, _size in _pages_asked(service)] == [1, 1]  # page 1, read once more; never page 2


def test_a_total_count_within_the_cap_is_read_in_full(service, make_client):
    everything = [{"instance_id": "i%04d" % n} for n in range(1200)]

    def answer(call):
        page, size = call.query["page_no"], call.query["page_size"]
        return {"data": {"result": everything[(page - 1) * size : page * size], "total_count": len(everything)}}

    service.on("ListInstances", answer)
    assert make_client(service).list_all("ListInstances", page_size=100, key="instance_id") == everything


@pytest.mark.parametrize(
    "item,problem",
    [
        (None, "item 2 (data.result[1]) is null, not an object"),
        ("ph002", "item 2 (data.result[1]) is a string, not an object"),
        ({"instance_name": "kp-00002"}, "item 2 (data.result[1]) has no instance_id"),
        ({"instance_id": ["ph002"]}, "item 2 (data.result[1]) has a list instance_id, not an id"),
        ({"instance_id": 2}, "item 2 (data.result[1]) has a number instance_id, not an id"),
    ],
)
def test_a_listed_item_that_cannot_be_read_is_refused_not_dropped(service, make_client, item, problem):
    service.on("ListInstances", {"data": {"result": [{"instance_id": "ph001"}, item], "total_count": 2}})
    with pytest.raises(KooPhoneError) as raised:
        make_client(service).list_all("ListInstances", page_size=100, key="instance_id")
    assert problem in str(raised.value) and raised.value.operation == "ListInstances"


def test_items_without_a_key_are_read_when_no_key_is_asked_for(service, make_client):
    items = [{"instance_name": "kp-00001"}, {"instance_id": 5}]
    service.on("ListInstances", {"data": {"result": items, "total_count": 2}})
    assert make_client(service).list_all("ListInstances", page_size=100) == items


def test_read_instances_refuses_a_per_id_lookup_item_without_an_id(service, make_client):
    service.on("ListInstances", {"data": {"result": [{"instance_name": "kp-00001"}], "total_count": 1}})
    with pytest.raises(KooPhoneError, match="has no instance_id"):
        make_client(service).read_instances(["ph001"])


# ---------------------------------------------------------------- batching


def test_call_batched_chunks_and_keeps_failures_per_chunk(stub, http_client):
    def answer(request):
        ids = request["body"]["instance_ids"]
        if "bad" in ids[0]:
            return 200, {}, {"error_code": "KOOPHONE.API.1012", "error_msg": "not yours"}
        return 200, {}, {"error_code": "0", "data": {"status_results": [{"instance_id": i} for i in ids]}}

    stub.default = answer
    ids = ["ok%03d" % n for n in range(100)] + ["bad%03d" % n for n in range(100)] + ["ok%03d" % n for n in range(50)]
    chunks = http_client().call_batched("BatchShowInstance", ids, lambda chunk: {"instance_ids": chunk})
    assert [len(c.ids) for c in chunks] == [100, 100, 50]
    assert [c.failed for c in chunks] == [False, True, False]
    assert chunks[1].error.error_code == "KOOPHONE.API.1012"
    assert chunks[2].answer["data"]["status_results"][0]["instance_id"] == "ok000"


def test_backup_chunks_by_fifty(service, make_client):
    service.on("BatchBackupInstances", {"error_code": "0"})
    make_client(service).call_batched(
        "BatchBackupInstances", ["i%d" % n for n in range(120)], lambda c: {"instance_ids": c}
    )
    assert sorted(len(body["instance_ids"]) for body in service.bodies("BatchBackupInstances")) == [20, 50, 50]


def test_a_chunk_refused_for_one_foreign_id_is_sent_again_without_it(fleet, make_client):
    fleet.add(*range(1, 5))
    mine = fleet.ids()

    def reboot(call):
        foreign = [i for i in call.body["instance_ids"] if i not in fleet.instances]
        if foreign:  # the service refuses the whole request, and says nothing of which id
            return {"error_code": "KOOPHONE.API.1001", "error_msg": "Authentication failed."}
        return {"error_code": "0"}

    fleet.on("BatchRebootInstance", reboot)
    ids = mine[:2] + ["stranger1"] + mine[2:]
    chunks = make_client(fleet).call_batched("BatchRebootInstance", ids, lambda chunk: {"instance_ids": chunk})
    assert fleet.bodies("BatchRebootInstance") == [{"instance_ids": ids}, {"instance_ids": mine}]
    assert [(chunk.ids, chunk.failed) for chunk in chunks] == [(["stranger1"], True), (mine, False)]
    refused = chunks[0].error
    assert isinstance(refused, KooPhonePermissionError) and refused.error_code == "KOOPHONE.API.1001"
    assert "stranger1" in str(refused) and not any(i in str(refused) for i in mine)


def test_a_chunk_refused_with_1001_that_the_listing_cannot_explain_is_reported_as_it_came(fleet, make_client):
    fleet.add(1, 2)
    fleet.on("BatchRebootInstance", {"error_code": "KOOPHONE.API.1001", "error_msg": "Authentication failed."})
    chunks = make_client(fleet).call_batched("BatchRebootInstance", fleet.ids(), lambda c: {"instance_ids": c})
    assert len(fleet.calls_to("BatchRebootInstance")) == 1
    assert [(chunk.ids, chunk.failed) for chunk in chunks] == [(fleet.ids(), True)]
    assert chunks[0].error.error_msg == "Authentication failed."


# ---------------------------------------------------------------- reading instances by id


def test_few_ids_are_looked_up_one_by_one_many_read_the_fleet_once(fleet, make_client):
    fleet.add(*range(1, 31))
    ids = fleet.ids()
    client = make_client(fleet)
    assert sorted(client.read_instances(ids[:3] + ["missing"])) == sorted(ids[:3])
    assert fleet.listings() == [{"instance_id": i} for i in ids[:3] + ["missing"]]
    fleet.calls.clear()
    assert sorted(client.read_instances(ids[:12])) == sorted(ids[:12])
    assert fleet.listings() == [{}]


def test_read_instances_adds_the_other_filters_and_reads_an_id_given_twice_once(fleet, make_client):
    fleet.add(1, 2)
    found = make_client(fleet).read_instances(["kp00002", "kp00002"], query={"pool_scene_tag": "CLOUD_PHONE"})
    assert list(found) == ["kp00002"]
    assert fleet.listings() == [{"instance_id": "kp00002", "pool_scene_tag": "CLOUD_PHONE"}]


# ---------------------------------------------------------------- concurrency and polling


def test_map_concurrently_keeps_order_and_one_failure_hides_nothing(make_client):
    def work(n):
        if n == 3:
            raise KooPhoneError("no", operation="X")
        return n * 10

    outcomes = make_client(concurrency=4).map_concurrently(work, list(range(8)))
    assert [value for value, _error in outcomes] == [0, 10, 20, None, 40, 50, 60, 70]
    assert [n for n, (_value, error) in enumerate(outcomes) if error is not None] == [3]


def test_poll_until_done_or_timeout(clock):
    reads = iter(range(100))
    done, value = KooPhoneClient.poll(lambda: next(reads), lambda v: v == 3, wait_timeout=60)
    assert (done, value) == (True, 3)
    start = clock.now
    done, value = KooPhoneClient.poll(lambda: "pending", lambda v: False, wait_timeout=10)
    assert done is False and clock.now - start >= 10
    assert max(clock.slept) <= 5.0  # the interval grows, up to max_interval

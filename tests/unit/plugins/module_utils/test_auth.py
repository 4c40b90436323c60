"""_auth: which credentials are used, the headers each way sends, IAM login, and the token cache."""

import json
import os
import stat

import pytest

from ansible_collections.koophone.cloud.plugins.module_utils import _auth as auth
from ansible_collections.koophone.cloud.plugins.module_utils._errors import InvalidOption, KooPhoneAuthError

IAM = {
    "username": "demo",
    "password": "s3cret-password",
    "domain_name": "demo-domain",
    "project_name": "cn-north-4",
    "iam_endpoint": "https://iam.test",
}
FAR = 4102444800.0  # 2100-01-01


class Logins:
    """An iam_login that hands out token-1, token-2, ... and remembers the bodies it was given."""

    def __init__(self, lifetime=24 * 3600):
        self.bodies = []
        self.lifetime = lifetime

    def __call__(self, body):
        self.bodies.append(body)
        now = auth.time.time()
        return "token-%d" % len(self.bodies), now + self.lifetime, now


def iam(tmp_path, logins=None, **overrides):
    params = dict(IAM, token_cache_dir=str(tmp_path))
    params.update(overrides)
    return auth.choose_auth(params, logins or Logins())


# ---------------------------------------------------------------- which credentials


def test_a_token_comes_first_then_aksk_then_iam(tmp_path):
    everything = dict(IAM, auth_token="t", access_key="AK", secret_key="SK")
    assert auth.choose_auth(everything, Logins()).mode == "token"
    assert auth.choose_auth(dict(everything, auth_token=None), Logins()).mode == "aksk"
    assert iam(tmp_path).mode == "iam"


@pytest.mark.parametrize(
    "params,option",
    [
        ({}, "auth_token"),
        ({"access_key": "AK"}, "secret_key"),
        ({"secret_key": "SK"}, "access_key"),
        ({"username": "u", "password": "p"}, "domain_name"),
        ({"password": "p", "domain_name": "d"}, "username"),
        ({"username": "u", "password": "p", "domain_name": "d"}, "project_name"),
    ],
)
def test_missing_credentials_name_the_option(params, option):
    with pytest.raises(InvalidOption) as raised:
        auth.choose_auth(params, Logins())
    assert raised.value.option == option


@pytest.mark.parametrize("option", auth.HEADER_OPTIONS)
def test_a_control_character_in_a_header_value_is_refused_without_echoing_it(option):
    params = {"access_key": "AK", "secret_key": "SK", option: "s3cr3t\r\nX-Injected: 1"}
    with pytest.raises(InvalidOption) as raised:
        auth.choose_auth(params, Logins())
    assert raised.value.option == option and "s3cr3t" not in str(raised.value)


# ---------------------------------------------------------------- the headers


def test_a_token_goes_in_x_auth_token_and_is_never_renewed():
    strategy = auth.choose_auth({"auth_token": "tok"}, Logins())
    headers = {"Host": "h"}
    assert strategy.headers("GET", "/v1/instances/sku", [], headers, None) == {"Host": "h", "X-Auth-Token": "tok"}
    assert headers == {"Host": "h"} and strategy.renew() is False


def test_aksk_signs_and_sends_project_and_security_token_only_when_given():
    signed = auth.choose_auth({"access_key": "AK", "secret_key": "SK"}, Logins()).headers(
        "GET", "/v1/instances/sku", [("type", "0")], {"Host": "h"}, None
    )
    assert signed["Authorization"].startswith("SDK-HMAC-SHA256 Access=AK, SignedHeaders=host;x-sdk-date,")
    assert "X-Project-Id" not in signed and "X-Security-Token" not in signed
    strategy = auth.choose_auth(
        {"access_key": "AK", "secret_key": "SK", "project_id": "p1", "security_token": "st"}, Logins()
    )
    signed = strategy.headers("POST", "/v1/instances/reboot", [], {"Host": "h"}, b"{}")
    assert signed["X-Project-Id"] == "p1" and signed["X-Security-Token"] == "st"
    assert "SignedHeaders=host;x-project-id;x-sdk-date;x-security-token," in signed["Authorization"]
    assert "SK" not in signed["Authorization"].split("Signature=")[0] and strategy.renew() is False


# ---------------------------------------------------------------- IAM password login


def test_the_login_body_puts_scope_inside_auth():
    body = auth.IamPasswordAuth(IAM, Logins()).login_body()
    assert body["auth"]["scope"] == {"project": {"name": "cn-north-4"}}
    assert body["auth"]["identity"] == {
        "methods": ["password"],
        "password": {"user": {"name": "demo", "password": "s3cret-password", "domain": {"name": "demo-domain"}}},
    }
    by_id = auth.IamPasswordAuth(dict(IAM, project_id="0123"), Logins()).login_body()
    assert by_id["auth"]["scope"] == {"project": {"id": "0123"}}


def test_one_login_serves_every_request_and_a_later_task_through_the_cache(tmp_path):
    logins = Logins()
    first = iam(tmp_path, logins)
    assert first.headers("GET", "/", [], {}, None)["X-Auth-Token"] == "token-1"
    assert first.headers("GET", "/", [], {}, None)["X-Auth-Token"] == "token-1"
    assert iam(tmp_path, logins).headers("GET", "/", [], {}, None)["X-Auth-Token"] == "token-1"
    assert len(logins.bodies) == 1
    (cached,) = list(tmp_path.iterdir())
    assert stat.S_IMODE(os.stat(str(cached)).st_mode) == 0o600
    assert "s3cret-password" not in cached.read_text()
    assert set(json.loads(cached.read_text())) == {"token", "expires_at", "issued_at"}


def test_renew_forgets_the_token_and_the_next_request_logs_in_again(tmp_path):
    logins = Logins()
    strategy = iam(tmp_path, logins)
    strategy.headers("GET", "/", [], {}, None)
    assert strategy.renew() is True and list(tmp_path.iterdir()) == []
    assert strategy.headers("GET", "/", [], {}, None)["X-Auth-Token"] == "token-2"


def test_requests_that_met_the_same_expired_token_at_once_log_in_once(tmp_path):
    """Issue 13 fault suite: 8 concurrent app-list reads all answered 6001 made 8 logins. Only the token a
    request carried is forgotten; the others repeat with the token the first renewal got."""
    logins = Logins()
    strategy = iam(tmp_path, logins)
    sent = [strategy.headers("GET", "/", [], {}, None) for _request in range(3)]
    assert strategy.renew(sent[0]) is True
    renewed = strategy.headers("GET", "/", [], {}, None)
    assert renewed["X-Auth-Token"] == "token-2"
    assert strategy.renew(sent[1]) is True and strategy.renew(sent[2]) is True
    assert strategy.headers("GET", "/", [], {}, None)["X-Auth-Token"] == "token-2"
    assert len(logins.bodies) == 2 and len(list(tmp_path.iterdir())) == 1
    assert strategy.renew(renewed) is True  # the new token refused too: that one is forgotten
    assert strategy.headers("GET", "/", [], {}, None)["X-Auth-Token"] == "token-3"


def test_a_token_close_to_expiry_is_renewed_before_it_is_used(tmp_path, monkeypatch):
    logins = Logins(lifetime=3600)  # a tenth of an hour: renewed in its last 6 minutes
    strategy = iam(tmp_path, logins)
    now = auth.time.time()
    strategy.headers("GET", "/", [], {}, None)
    monkeypatch.setattr(auth.time, "time", lambda: now + 3600 - 300)
    assert strategy.headers("GET", "/", [], {}, None)["X-Auth-Token"] == "token-2"


@pytest.mark.parametrize(
    "lifetime,left,renew",
    [(24 * 3600, 41 * 60, False), (24 * 3600, 39 * 60, True), (3600, 7 * 60, False), (3600, 5 * 60, True)],
)
def test_renewal_margin_is_40_minutes_or_a_tenth_of_the_lifetime(lifetime, left, renew):
    record = {"expires_at": 1000000.0 + lifetime, "issued_at": 1000000.0}
    assert auth._needs_renewal(record, now=record["expires_at"] - left) is renew


def test_users_and_projects_have_cache_entries_of_their_own(tmp_path):
    logins = Logins()
    iam(tmp_path, logins).headers("GET", "/", [], {}, None)
    iam(tmp_path, logins, username="other").headers("GET", "/", [], {}, None)
    iam(tmp_path, logins, project_name="cn-east-3").headers("GET", "/", [], {}, None)
    assert len(logins.bodies) == 3 and len(list(tmp_path.iterdir())) == 3


@pytest.mark.parametrize("text", ["{broken", '{"token": 1, "expires_at": 2}', '["a list"]', ""])
def test_an_unreadable_cache_entry_means_a_new_login(tmp_path, text):
    logins = Logins()
    strategy = iam(tmp_path, logins)
    strategy._cache.store({"token": "x", "expires_at": FAR})
    with open(strategy._cache.path, "w") as handle:
        handle.write(text)
    assert strategy.headers("GET", "/", [], {}, None)["X-Auth-Token"] == "token-1"


def test_the_cache_can_be_switched_off_and_defaults_under_the_cache_home(tmp_path):
    logins = Logins()
    for _task in range(2):
        iam(tmp_path, logins, token_cache_dir="none").headers("GET", "/", [], {}, None)
    assert len(logins.bodies) == 2 and list(tmp_path.iterdir()) == []
    assert auth.default_cache_dir() == str(tmp_path / "cache" / "koophone.cloud" / "tokens")


def test_a_cache_that_cannot_be_written_is_no_reason_to_fail(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("")
    strategy = iam(tmp_path, token_cache_dir=str(blocker / "tokens"))
    assert strategy.headers("GET", "/", [], {}, None)["X-Auth-Token"] == "token-1"


@pytest.mark.parametrize(
    "value,epoch",
    [
        ("2019-02-13T06:52:13.855000Z", 1550040733.0),
        ("2019-02-13T06:52:13Z", 1550040733.0),
        ("2019-02-13 06:52:13", 1550040733.0),
    ],
)
def test_iam_times(value, epoch):
    assert auth.parse_iam_time(value) == epoch


@pytest.mark.parametrize("value", [None, "", "yesterday", 5, ["2099-01-01T00:00:00Z"], {"at": 1}])
def test_an_iam_time_that_cannot_be_read_is_an_auth_error(value):
    with pytest.raises(KooPhoneAuthError) as raised:
        auth.parse_iam_time(value, "issued_at")
    assert "issued_at" in str(raised.value)

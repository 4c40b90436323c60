"""KooPhoneModule: the common options, run/fail/exit (what every module returns when a later step fails, and
under no_log), and the tuning limits checked before any client exists."""

import pytest

from ansible_collections.koophone.cloud.plugins.module_utils import _module as module_base
from ansible_collections.koophone.cloud.plugins.module_utils import _options as options
from ansible_collections.koophone.cloud.plugins.module_utils._errors import KooPhoneError

from ..modules import fake_kp


def failing_after_a_change(kp):
    kp.result.update(changed=True, order_ids=["O1"])  # the service accepted an order...
    raise KooPhoneError("read failed", operation="ListInstances", status=503, request_id="r1")  # ...then a read broke


def test_a_failure_after_a_change_still_reports_the_change():
    kp = fake_kp.FakeKp(client=object(), params={})
    with pytest.raises(fake_kp.ModuleExit):
        kp.run(failing_after_a_change)
    failed = kp.module.failed
    assert failed["changed"] is True and failed["order_ids"] == ["O1"]
    assert failed["msg"].startswith("read failed (operation=ListInstances")
    assert failed["operation"] == "ListInstances" and failed["status"] == 503


def test_a_failure_before_any_change_reports_none():
    def failing(kp):
        raise KooPhoneError("refused", operation="CreateInstance", status=400)

    kp = fake_kp.FakeKp(client=object(), params={})
    with pytest.raises(fake_kp.ModuleExit):
        kp.run(failing)
    assert kp.module.failed["changed"] is False


@pytest.mark.parametrize("no_log", [True, False])
def test_results_entries_carry_the_no_log_marker_only_under_no_log(no_log):
    kp = fake_kp.FakeKp(client=object(), params={}, module=fake_kp.FakeModule(no_log=no_log))
    with pytest.raises(fake_kp.ModuleExit):
        kp.fail(msg="one phone failed", results=[{"instance_id": "a", "stdout": "secret"}, {"instance_id": "b"}])
    entries = kp.module.failed["results"]
    assert [entry.get("_ansible_no_log", False) for entry in entries] == [no_log, no_log]
    assert entries[0]["stdout"] == "secret"  # hidden from display, still registered


# -------------------------------------------------------------------- the common options


def test_every_module_gets_the_common_options_besides_its_own(monkeypatch):
    built = {}

    class RecordingModule:
        def __init__(self, argument_spec, **kwargs):
            built.update(argument_spec=argument_spec, kwargs=kwargs)
            self.params, self.check_mode = {}, False

    monkeypatch.setattr(module_base, "AnsibleModule", RecordingModule)
    module_base.KooPhoneModule({"instance_ids": {"type": "list", "elements": "str"}}, supports_check_mode=True)
    spec = built["argument_spec"]
    assert set(spec) == set(options.NAMES) | {"instance_ids"}
    assert dict((name, spec[name]) for name in options.NAMES) == options.argument_spec()
    assert built["kwargs"] == {"supports_check_mode": True}


@pytest.mark.parametrize(
    "option,value,message",
    [
        ("retries", 21, "Invalid option retries: is 21; it must be between 0 and 20"),
        ("timeout", 0, "Invalid option timeout: is 0; it must be between 1 and 600"),
        ("concurrency", 65, "Invalid option concurrency: is 65; it must be between 1 and 64"),
    ],
)
def test_tuning_out_of_range_fails_before_a_client_exists(monkeypatch, option, value, message):
    def no_client(params):
        raise AssertionError("no client may be built for invalid options")

    monkeypatch.setattr(module_base, "KooPhoneClient", no_client)
    kp = fake_kp.FakeKp(client=None, params={option: value})
    with pytest.raises(fake_kp.ModuleExit):
        kp.run(lambda kp: pytest.fail("the module's work must not start"))
    assert kp.module.failed["msg"] == message
    assert kp.module.failed["option"] == option


@pytest.mark.parametrize("diff", [True, False])
def test_a_diff_is_returned_only_when_asked_for(diff):
    def with_a_diff(kp):
        return {"changed": True, "diff": {"before": {"count": 0}, "after": {"count": 3}}}

    kp = fake_kp.FakeKp(client=object(), params={}, module=fake_kp.FakeModule(diff=diff))
    exited = {}
    kp.module.exit_json = exited.update
    kp.run(with_a_diff)
    assert ("diff" in exited) is diff
    kp.result["diff"] = {"before": {}, "after": {}}
    with pytest.raises(fake_kp.ModuleExit):
        kp.fail(msg="failed")
    assert ("diff" in kp.module.failed) is diff

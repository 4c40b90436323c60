"""KooPhoneModule.run/fail/exit: what every module returns when a later step fails, and under no_log."""

import fake_kp
import pytest

from ansible_collections.koophone.cloud.plugins.module_utils._errors import KooPhoneError


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

"""_changes: one batched state change (check mode, lost chunks re-read or reported, never sent twice
blindly) and what it records into the module's result."""

import pytest

from ansible_collections.koophone.cloud.plugins.module_utils import _changes as changes
from ansible_collections.koophone.cloud.plugins.module_utils._errors import KooPhoneError


def reboot_body(chunk):
    return {"instance_ids": chunk}


def unassign_body(user_id):
    return lambda chunk: {"user_instances": [{"user_id": user_id, "instance_id": i} for i in chunk]}


def unassign_all(fleet, make_client, ids, **extra):
    """Unassign ``ids`` from u1; a lost chunk is re-read and sent again where it is still assigned."""
    client = make_client(fleet)
    return changes.apply_batched(
        client,
        "CancelInstance",
        ids,
        unassign_body("u1"),
        reread=client.read_instances,
        still_needed=lambda item: item is not None and item["assign_status"] == 1,
        **extra,
    )


def lost(operation):
    return KooPhoneError("connection broke", operation=operation, maybe_applied=True)


def test_a_lost_chunk_is_re_read_and_only_what_still_needs_it_is_sent_again(fleet, make_client):
    fleet.add(*range(1, 26), assign_status=1, assign_user="u1")
    ids = fleet.ids()
    unassign = fleet.op_CancelInstance

    def half_applied_then_lost(call):
        if len(fleet.calls_to("CancelInstance")) == 2:
            # The second chunk: only half of it applied, and its answer was lost.
            unassign(call._replace(body={"user_instances": call.body["user_instances"][:5]}))
            return lost(call.operation)
        return unassign(call)

    fleet.on("CancelInstance", half_applied_then_lost)
    outcome = unassign_all(fleet, make_client, ids)
    assert outcome.failures == [] and outcome.maybe == []
    sent = [[pair["instance_id"] for pair in body["user_instances"]] for body in fleet.bodies("CancelInstance")]
    # The lost chunk is re-read: its applied half is left alone, the other half is sent once more.
    assert sent[3] == ids[15:20]
    assert [len(chunk) for chunk in sent] == [10, 10, 5, 5]
    assert changes.task_ids(outcome.answers) == ["RM_0001", "RM_0003", "RM_0004"]
    assert outcome.done == ids
    assert not [item for item in fleet.instances.values() if item["assign_status"] == 1]


def test_a_lost_chunk_the_re_read_shows_done_is_not_sent_again(fleet, make_client):
    fleet.add(1, 2, assign_status=1, assign_user="u1")
    fleet.fault("CancelInstance", "lost")
    outcome = unassign_all(fleet, make_client, fleet.ids())
    assert len(fleet.calls_to("CancelInstance")) == 1
    assert outcome.done == fleet.ids() and outcome.failures == [] and outcome.answers == []


def test_a_chunk_lost_again_and_again_is_re_read_and_re_sent_a_bounded_number_of_times(fleet, make_client):
    fleet.add(1, assign_status=1, assign_user="u1")
    fleet.fault("CancelInstance", *["unanswered"] * (changes.MAX_RESENDS + 1))
    outcome = unassign_all(fleet, make_client, fleet.ids())
    assert len(fleet.calls_to("CancelInstance")) == changes.MAX_RESENDS + 1
    assert outcome.maybe == ["kp00001"] and outcome.done == [] and outcome.failures[0].error.maybe_applied


def test_a_chunk_lost_twice_then_answered_is_done_each_send_after_a_re_read(fleet, make_client):
    # A 5xx after a 5xx: the listing shows the change still needed each time, so it is sent again.
    fleet.add(1, assign_status=1, assign_user="u1")
    fleet.fault("CancelInstance", "unanswered", "unanswered")
    outcome = unassign_all(fleet, make_client, fleet.ids())
    assert len(fleet.calls_to("CancelInstance")) == 3
    assert outcome.done == ["kp00001"] and outcome.maybe == [] and outcome.failures == []


def test_without_a_re_read_a_lost_chunk_is_a_failure_that_may_have_applied(service, client):
    service.on("BatchRebootInstance", lambda call: lost(call.operation))
    outcome = changes.apply_batched(client, "BatchRebootInstance", ["a", "b"], reboot_body)
    assert outcome.answers == [] and len(service.calls) == 1
    assert outcome.failures[0].ids == ["a", "b"] and outcome.failures[0].to_dict()["maybe_applied"] is True
    assert outcome.done == [] and outcome.maybe == ["a", "b"]


def test_a_failed_re_read_leaves_the_lost_chunk_unsent_and_maybe_changed(service, client):
    service.on("DeleteInstance", lambda call: lost(call.operation))

    def broken_reread(ids):
        raise KooPhoneError("read failed", operation="ListInstances", status=503)

    outcome = changes.apply_batched(
        client, "DeleteInstance", ["a"], lambda c: {"instanceIdList": c}, broken_reread, lambda i: i is not None
    )
    assert len(service.calls) == 1 and outcome.maybe == ["a"] and outcome.failures[0].error.maybe_applied


def test_a_refused_chunk_is_a_failure_that_applied_nothing(service, client):
    def reboot(call):
        if "b" in call.body["instance_ids"]:
            return {"error_code": "KOOPHONE.API.5005", "error_msg": "not running"}
        return {"error_code": "0"}

    service.on("BatchRebootInstance", reboot)
    ids = ["b"] + ["a%03d" % n for n in range(100)]
    outcome = changes.apply_batched(client, "BatchRebootInstance", ids, reboot_body)
    assert outcome.failed_ids == ids[:100] and outcome.maybe == [] and outcome.done == ids[100:]
    failure = outcome.failures[0].to_dict()
    assert failure["maybe_applied"] is False and failure["error_code"] == "KOOPHONE.API.5005"
    assert failure["instance_ids"] == ids[:100] and "not running" in failure["msg"]


def test_the_outcome_is_in_the_order_asked_and_an_id_given_twice_counts_once(service, client):
    service.on("BatchRebootInstance", {"error_code": "0"})
    outcome = changes.apply_batched(client, "BatchRebootInstance", ["b", "a", "b"], reboot_body)
    assert outcome.done == ["b", "a"]


def test_task_ids_read_both_shapes():
    answers = [{"data": {"task_id": "RM_1"}}, {"data": {"data": {"task_id": "RM_2"}}}, {"data": None}, {}]
    assert changes.task_ids(answers) == ["RM_1", "RM_2"]


def test_task_ids_read_a_number_as_its_digits_and_anything_else_as_no_id():
    answers = [{"data": {"task_id": 17}}, {"data": {"task_id": ["RM_3"]}}, {"data": {"task_id": True}}]
    answers += [{"data": {"task_id": {"id": "RM_4"}}}, {"data": {"task_id": ""}}, {"data": {"task_id": "RM_5"}}]
    assert changes.task_ids(answers) == ["17", "RM_5"]


# ---------------------------------------------------------------- what a module run records


def test_check_mode_sends_nothing_and_reports_every_id_as_changing(service, client, make_kp):
    kp = make_kp(client, {}, check_mode=True)
    outcome = changes.Changes(kp, with_tasks=True).apply("BatchResetInstance", ["a", "b"], reboot_body)
    assert service.calls == [] and outcome.done == ["a", "b"]
    assert kp.result == {
        "changed": True,
        "changed_instance_ids": ["a", "b"],
        "maybe_changed_instance_ids": [],
        "task_ids": [],
    }


def test_what_was_done_is_recorded_as_it_comes(service, client, make_kp):
    def reset(call):
        if call.body["instance_ids"][0] == "lost":
            return lost(call.operation)
        return {"error_code": "0", "data": {"task_id": "RM_%s" % call.body["instance_ids"][0]}}

    service.on("BatchResetInstance", reset)
    kp = make_kp(client, {})
    change = changes.Changes(kp, with_tasks=True, instances=["whatever"])
    change.apply("BatchResetInstance", ["a"], reboot_body)
    change.apply("BatchResetInstance", ["lost"], reboot_body)
    change.apply("BatchResetInstance", ["a", "b"], reboot_body)
    assert kp.result == {
        "changed": True,
        "instances": ["whatever"],
        "changed_instance_ids": ["a", "b"],
        "maybe_changed_instance_ids": ["lost"],
        "task_ids": ["RM_a", "RM_a"],
    }


def test_nothing_done_is_no_change(service, client, make_kp):
    service.on("BatchRebootInstance", {"error_code": "KOOPHONE.API.5005", "error_msg": "not running"})
    kp = make_kp(client, {})
    change = changes.Changes(kp)
    change.apply("BatchRebootInstance", [], reboot_body)
    outcome = change.apply("BatchRebootInstance", ["a"], reboot_body)
    assert kp.result == {"changed": False, "changed_instance_ids": [], "maybe_changed_instance_ids": []}
    with pytest.raises(SystemExit):
        change.fail_on(outcome, "Restarting", 1, instances=[])
    failed = kp.module.failed
    assert failed["msg"].startswith("Restarting failed for 1 of 1 instance(s): not running")
    assert "(instances a)" in failed["msg"] and failed["failed_chunks"][0]["instance_ids"] == ["a"]
    assert failed["changed"] is False and failed["instances"] == []


def test_would_change_plans_without_sending(service, client, make_kp):
    kp = make_kp(client, {})
    change = changes.Changes(kp)
    change.would_change([])
    assert kp.result["changed"] is False
    change.would_change(["a", "a", "b"])
    assert kp.result["changed"] is True and kp.result["changed_instance_ids"] == ["a", "b"] and service.calls == []


def test_a_failure_message_names_ten_requests_and_counts_the_rest(make_kp, client):
    error = KooPhoneError("refused", operation="BatchRebootInstance", error_code="KOOPHONE.API.5005")
    failures = [changes.ChunkFailure(["i%d" % n], error) for n in range(12)]
    kp = make_kp(client, {})
    with pytest.raises(SystemExit):
        changes.fail(kp, "Restarting failed", failures)
    failed = kp.module.failed
    assert failed["msg"].count("(instances ") == 10 and failed["msg"].endswith(
        "and 2 more failed requests (failed_chunks)"
    )
    assert len(failed["failed_chunks"]) == 12


# ---------------------------------------------------------------- judge, UNKNOWN, resends, confirm


def test_a_judge_keeps_the_ids_an_answer_refuses_out_of_done(service, client):
    def reboot(call):
        return {"error_code": "0", "data": {"refused": [i for i in call.body["instance_ids"] if i.startswith("x")]}}

    service.on("BatchRebootInstance", reboot)
    judged = []

    def judge(chunk):
        judged.append(chunk.ids)
        return dict((i, "refused by the answer") for i in chunk.answer["data"]["refused"])

    ids = ["a", "x1"] + ["b%03d" % n for n in range(99)] + ["x2"]
    outcome = changes.apply_batched(client, "BatchRebootInstance", ids, reboot_body, judge=judge)
    assert judged == [ids[:100], ids[100:]]
    assert outcome.refused == {"x1": "refused by the answer", "x2": "refused by the answer"}
    assert outcome.done == [i for i in ids if not i.startswith("x")]
    assert outcome.failures == [] and outcome.maybe == [] and len(outcome.answers) == 2


def test_a_judge_also_reads_the_chunks_sent_again_after_a_re_read(fleet, make_client):
    fleet.add(1, 2, assign_status=1, assign_user="u1")
    fleet.fault("CancelInstance", "unanswered")
    judged = []

    def judge(chunk):
        judged.append(chunk.ids)
        return {"kp00002": "refused"}

    outcome = unassign_all(fleet, make_client, fleet.ids(), judge=judge)
    assert judged == [fleet.ids()]  # only the answered send is judged
    assert outcome.done == ["kp00001"] and outcome.refused == {"kp00002": "refused"}


def test_an_id_the_re_read_cannot_tell_about_is_not_sent_again_and_stays_maybe(service, client):
    service.on("BatchRebootInstance", lambda call: lost(call.operation))
    reread = {"a": changes.UNKNOWN, "b": "still", "c": "done"}
    outcome = changes.apply_batched(
        client,
        "BatchRebootInstance",
        ["a", "b", "c"],
        reboot_body,
        reread=lambda ids: dict((i, reread[i]) for i in ids),
        still_needed=lambda value: value == "still",
        resends=1,
    )
    sent = [call.body["instance_ids"] for call in service.calls]
    assert sent == [["a", "b", "c"], ["b"]]  # a is neither sent again nor counted done
    assert outcome.done == ["c"] and outcome.maybe == ["a", "b"]
    assert sorted(i for failure in outcome.failures for i in failure.ids) == ["a", "b"]
    assert all(failure.error.maybe_applied for failure in outcome.failures)


def test_resends_bound_the_sends_of_a_chunk_lost_again_and_again(fleet, make_client):
    fleet.add(1, assign_status=1, assign_user="u1")
    fleet.fault("CancelInstance", *["unanswered"] * 5)
    outcome = unassign_all(fleet, make_client, fleet.ids(), resends=2)
    assert len(fleet.calls_to("CancelInstance")) == 3
    assert outcome.maybe == ["kp00001"] and outcome.done == []


def test_apply_passes_judge_and_resends_on_and_check_mode_judges_nothing(service, client, make_kp):
    service.on("BatchRebootInstance", {"error_code": "0"})
    judged = []

    def judge(chunk):
        judged.append(chunk.ids)
        return {"b": "refused"}

    kp = make_kp(client, {})
    outcome = changes.Changes(kp).apply("BatchRebootInstance", ["a", "b"], reboot_body, judge=judge, resends=0)
    assert judged == [["a", "b"]] and outcome.done == ["a"] and kp.result["changed_instance_ids"] == ["a"]
    kp = make_kp(client, {}, check_mode=True)
    outcome = changes.Changes(kp).apply("BatchRebootInstance", ["a", "b"], reboot_body, judge=judge)
    assert judged == [["a", "b"]] and outcome.done == ["a", "b"] and len(service.calls) == 1


def test_confirm_turns_a_maybe_changed_id_into_a_changed_one(service, client, make_kp):
    service.on("BatchRebootInstance", lambda call: lost(call.operation))
    kp = make_kp(client, {})
    change = changes.Changes(kp, with_tasks=True)
    change.apply("BatchRebootInstance", ["a", "b"], reboot_body)
    assert kp.result["maybe_changed_instance_ids"] == ["a", "b"] and kp.result["changed"] is True
    change.confirm(["b"])
    change.confirm([])
    assert kp.result == {
        "changed": True,
        "changed_instance_ids": ["b"],
        "maybe_changed_instance_ids": ["a"],
        "task_ids": [],
    }

"""Response fuzzing, one layer up: every module's run function and the inventory plugin, each with the
real client over the fuzzed service of test_fuzz_responses.py, end in a result, a failure a module
reports (fail_json with a message), or a clean KooPhoneError/InvalidOption; never another exception.

A module is run as KooPhoneModule.run runs it (its validate, then its run function) on a FakeKp, so
the capability parsers are reached as users reach them: commands (run_sync, submit_async,
wait_for_jobs, names, summaries), tasks (TaskPoller, TaskReader), apps (InstalledApps by app-list and
by shell, Installer, task_of, uninstall), instances (Targets, read_by_prefix, created_instance_ids,
order_id, Progress, Changes and follow_tasks), SKUs (read_catalogue, choose_offer), video, streaming
sessions (session_of) and instance info (add_cloud_status). Where a result promises a shape (one
entry per instance, ids among those asked for), that is checked too. The pure parsers run again on
their own, cheaply, over many more answers.

Bugs found here are in test_fuzz_responses.KNOWN_BUGS with the others; their reproductions are at
the end of this file.
"""

import importlib
import json
from unittest import mock

import pytest
from ansible.errors import AnsibleError
from ansible.inventory.data import InventoryData
from ansible.module_utils.common.text.converters import jsonify
from ansible.parsing.dataloader import DataLoader
from hypothesis import given
from hypothesis import strategies as st

from ansible_collections.koophone.cloud.plugins.module_utils import _apps as apps
from ansible_collections.koophone.cloud.plugins.module_utils import _changes as changes
from ansible_collections.koophone.cloud.plugins.module_utils import _client as client_module
from ansible_collections.koophone.cloud.plugins.module_utils import _commands as commands
from ansible_collections.koophone.cloud.plugins.module_utils import _instances as kpi
from ansible_collections.koophone.cloud.plugins.module_utils import _options as options
from ansible_collections.koophone.cloud.plugins.module_utils import _skus as skus
from ansible_collections.koophone.cloud.plugins.module_utils._errors import InvalidOption, KooPhoneError

from ..modules.fake_kp import FakeKp, ModuleExit
from .test_fuzz_responses import (
    ENDPOINT,
    Context,
    FuzzService,
    ScriptedService,
    answered,
    bent,
    check_clean_error,
    fleet_of,
    fuzz_settings,
    known_bug,
    listing,
    make_client,
    ok,
    phone,
    serving,
    steer,
    template,
)


def module(name):
    return importlib.import_module("ansible_collections.koophone.cloud.plugins.modules." + name)


class _Captured(Exception):
    pass


_SPECS = {}


def spec_of(name):
    """The argument spec a module's main() gives KooPhoneModule (its own options, without the common ones)."""
    if name not in _SPECS:
        captured = {}

        class Capture:
            def __init__(self, argument_spec, **kwargs):
                captured.update(argument_spec)
                raise _Captured()

        with mock.patch.object(module(name), "KooPhoneModule", Capture), pytest.raises(_Captured):
            module(name).main()
        _SPECS[name] = captured
    return _SPECS[name]


def params_for(module_name, **given_params):
    """The options as AnsibleModule hands them to the module: every option, defaults filled in."""
    spec = dict(options.argument_spec(), **spec_of(module_name))
    params = dict((option, entry.get("default")) for option, entry in spec.items())
    params.update(endpoint=ENDPOINT, auth_token="token-under-test")
    params.update(given_params)
    return params


def run_module(name, params, data, context, check_mode=False):
    """(outcome, kp): the run function's result, the ModuleExit of kp.fail, or the KooPhoneError/InvalidOption
    KooPhoneModule.run would report. Anything else propagates (and fails the property)."""
    target = module(name)
    service = FuzzService(data.draw, context)
    with serving(service):
        client = make_client(retries=data.draw(st.integers(0, 1)))
        kp = FakeKp(client, params, check_mode=check_mode)
        try:
            if hasattr(target, "validate"):
                target.validate(params)
            outcome = target.run(kp)
        except ModuleExit as exit_:
            outcome = exit_
        except (KooPhoneError, InvalidOption) as error:
            outcome = error
    return check_outcome(outcome), kp


def check_outcome(outcome):
    """A module's outcome as Ansible would report it; returns the result dict (or None for an error)."""
    if isinstance(outcome, ModuleExit):
        result = outcome.args[0]
        assert isinstance(result.get("msg"), str), result
        jsonify(result)
        return result
    if isinstance(outcome, Exception):
        check_clean_error(outcome)
        return None
    assert isinstance(outcome, dict) and isinstance(outcome.get("changed"), bool), outcome
    jsonify(outcome)
    return outcome


def ids_of(count):
    return ["ph%03d" % n for n in range(1, count + 1)]


# A few instances (an id may come twice): enough for chunks of several, few enough that flows of
# several requests often get through to their last step.
INSTANCE_IDS = st.integers(1, 4).flatmap(lambda n: st.lists(st.sampled_from(ids_of(n)), min_size=1, max_size=n + 1))


# -------------------------------------------------------------------- commands and tasks


@fuzz_settings(150)
@given(
    data=st.data(),
    ids=INSTANCE_IDS,
    mode=st.sampled_from(["sync", "async"]),
    wait=st.booleans(),
    fail_on_error=st.booleans(),
)
def test_command_reports_one_result_per_instance(data, ids, mode, wait, fail_on_error):
    params = params_for(
        "koophone_command",
        instance_ids=ids,
        command="getprop ro.build.version.release",
        mode=mode,
        wait=wait,
        wait_timeout=20,
        fail_on_error=fail_on_error,
    )
    result, _kp = run_module("koophone_command", params, data, Context(fleet_of(8)))
    if result is None:
        return
    results = result["results"]
    assert [entry["instance_id"] for entry in results] == list(dict.fromkeys(ids))
    for entry in results:
        assert isinstance(entry["failed"], bool) and isinstance(entry["stdout"], str), entry
        assert isinstance(entry["stdout_lines"], list)
    assert set(result["failed_instance_ids"]) == set(e["instance_id"] for e in results if e["failed"])
    commands.render_summary(result["summary"])  # what the action plugin prints


TASK_IDS = ["0123456789abcdef0123456789abcdef", "ZGCA_install", "RM_reset", "FULFILL_1"]


@fuzz_settings(80)
@given(data=st.data(), task_ids=st.lists(st.sampled_from(TASK_IDS), min_size=1, max_size=3), wait=st.booleans())
def test_task_info_reads_any_task_answer(data, task_ids, wait):
    context = Context()
    for task_id in TASK_IDS:
        context.task(task_id, ids_of(2))
    params = params_for("koophone_task_info", task_ids=task_ids, wait=wait, wait_timeout=15)
    result, _kp = run_module("koophone_task_info", params, data, context)
    if result is not None and "tasks" in result:
        assert [task["task_id"] for task in result["tasks"]] == list(dict.fromkeys(task_ids))


# -------------------------------------------------------------------- apps

PACKAGE = "com.example.app"


def app_context(installed):
    apps_listed = [{"app_pkg": "com.other", "app_version": "9"}]
    if installed is not None:
        apps_listed.append({"app_pkg": PACKAGE, "app_version": installed, "app_name": "Example"})
    return Context(fleet_of(8), apps_listed)


@fuzz_settings(150)
@given(
    data=st.data(),
    ids=INSTANCE_IDS,
    state=st.sampled_from(["present", "present", "absent"]),
    detection=st.sampled_from(["auto", "app_list", "command"]),
    installed=st.sampled_from([None, "1.0", "0.9"]),
    force=st.booleans(),
    wait=st.booleans(),
)
def test_app_ends_cleanly_whatever_the_service_answers(data, ids, state, detection, installed, force, wait):
    params = params_for(
        "koophone_app",
        instance_ids=ids,
        name=PACKAGE,
        version="1.0",
        url="https://obs.example.test/packages/app-1.0.apk",
        size_mb=12.5,
        md5="d41d8cd98f00b204e9800998ecf8427e",
        state=state,
        detection=detection,
        force=force,
        wait=wait,
        wait_timeout=20,
    )
    result, _kp = run_module("koophone_app", params, data, app_context(installed))
    if result is not None and "results" in result:
        assert [entry["instance_id"] for entry in result["results"]] == list(dict.fromkeys(ids))
        for entry in result["results"]:
            assert isinstance(entry.get("msg", ""), str), entry


@fuzz_settings(100)
@given(
    data=st.data(),
    ids=INSTANCE_IDS,
    source=st.sampled_from(["auto", "app_list", "command"]),
    installed=st.sampled_from([None, "1.0"]),
)
def test_installed_apps_reads_every_instance_or_reports_it(data, ids, source, installed):
    """InstalledApps.read: each instance ends with a version (text, or None: not installed) or a failure."""
    ids = list(dict.fromkeys(ids))
    service = FuzzService(data.draw, app_context(installed))
    with serving(service):
        client = make_client(retries=0)
        try:
            versions, failures = apps.InstalledApps(client, PACKAGE, source).read(ids)
        except (KooPhoneError, InvalidOption) as error:
            check_clean_error(error)
            return
    for instance_id in ids:
        assert instance_id in versions or instance_id in failures
        if instance_id in versions:
            assert versions[instance_id] is None or isinstance(versions[instance_id], str)
    assert set(versions) | set(failures) <= set(ids)
    for entry in failures.values():
        assert isinstance(entry["msg"], str)
    jsonify(failures)


# -------------------------------------------------------------------- instances

INSTANCE_STATES = ["absent", "restarted", "reset", "assigned", "unassigned", "prepared", "backed_up"]


@fuzz_settings(200)
@given(
    data=st.data(),
    state=st.sampled_from(INSTANCE_STATES),
    by_prefix=st.booleans(),
    ids=INSTANCE_IDS,
    check_mode=st.sampled_from([False, False, False, True]),
    wait=st.booleans(),
)
def test_instance_states_end_cleanly(data, state, by_prefix, ids, check_mode, wait):
    params = params_for(
        "koophone_instance",
        state=state,
        instance_ids=None if by_prefix else ids,
        name_prefix="kp" if by_prefix else None,
        user_id="user-1" if state in ("assigned", "prepared", "unassigned") else None,
        wait=wait,
        wait_timeout=20,
    )
    assigned = state in ("unassigned", "prepared", "backed_up")
    fleet = [
        phone(instance_id, n, assign_status=1 if assigned else 0, assign_user="user-1" if assigned else "")
        for n, instance_id in enumerate(ids_of(8), 1)
    ]
    run_module("koophone_instance", params, data, Context(fleet), check_mode=check_mode)


@fuzz_settings(80)
@given(data=st.data(), have=st.integers(0, 3), count=st.integers(1, 5), auto_pay=st.booleans())
def test_instance_present_buys_cleanly(data, have, count, auto_pay, tmp_path_factory):
    record = tmp_path_factory.mktemp("orders") / "unpaid-orders.json"
    record.write_text('{"orders": []}')
    params = params_for(
        "koophone_instance",
        state="present",
        name_prefix="kp",
        count=count,
        sku_id="kp.pro",
        region="cn-north-4",
        os="AOSP11",
        band_size=4,
        auto_pay=auto_pay,
        order_record=str(record),
        wait=data.draw(st.booleans()),
        wait_timeout=20,
    )
    run_module("koophone_instance", params, data, Context(fleet_of(have)))


@fuzz_settings(80)
@given(data=st.data(), region=st.sampled_from([None, "cn-north-4", "nowhere"]), os=st.sampled_from([None, "AOSP11"]))
def test_sku_info_flattens_any_catalogue(data, region, os):
    params = params_for("koophone_sku_info", region=region, os=os)
    result, _kp = run_module("koophone_sku_info", params, data, Context())
    if result is not None:
        for sku in result["skus"]:
            assert isinstance(sku, dict) and isinstance(sku["band_sizes"], list)


@fuzz_settings(100)
@given(data=st.data(), ids=INSTANCE_IDS, include_cloud_status=st.booleans(), by_id=st.booleans())
def test_instance_info_lists_any_answer(data, ids, include_cloud_status, by_id):
    params = params_for(
        "koophone_instance_info", instance_ids=ids if by_id else None, include_cloud_status=include_cloud_status
    )
    result, _kp = run_module("koophone_instance_info", params, data, Context(fleet_of(8)))
    if result is None:
        return
    for item in result["instances"]:
        assert isinstance(item, dict)
        if by_id:
            assert item["instance_id"] in ids
    if by_id:
        listed = set(item["instance_id"] for item in result["instances"])
        assert result["missing_instance_ids"] == [i for i in ids if i not in listed]


# -------------------------------------------------------------------- video, streaming

SPEC = {"code_rate": 2000, "fps": 30}
VIDEO_DEFAULTS = {"definition_540p": SPEC, "definition_720p": SPEC, "definition_1080p": SPEC}


@fuzz_settings(50)
@given(data=st.data(), ids=INSTANCE_IDS)
def test_video_ends_cleanly(data, ids):
    params = params_for("koophone_video", instance_ids=ids, defaults=VIDEO_DEFAULTS, record_file="off", force=True)
    result, _kp = run_module("koophone_video", params, data, Context(fleet_of(8)))
    if result is not None and "results" in result:
        assert [e["instance_id"] for e in result["results"]] == list(dict.fromkeys(ids))


@fuzz_settings(80)
@given(data=st.data(), ids=INSTANCE_IDS, state=st.sampled_from(["authorized", "stopped", "released"]))
def test_stream_session_reports_each_instance(data, ids, state):
    params = params_for("koophone_stream_session", instance_ids=ids, state=state)
    result, _kp = run_module("koophone_stream_session", params, data, Context(fleet_of(8)))
    if result is not None and "sessions" in result:
        assert [e["instance_id"] for e in result["sessions"]] == list(dict.fromkeys(ids))


# -------------------------------------------------------------------- the inventory plugin


def inventory_plugin(inventory_options, options_given):
    """The plugin with conftest's inventory_options: the client's options all unset (None) but these."""
    plugin_module = importlib.import_module("ansible_collections.koophone.cloud.plugins.inventory.koophone")
    client = dict.fromkeys(plugin_module.CLIENT_OPTIONS)
    client.update(
        endpoint=ENDPOINT, auth_token="token-under-test", timeout=30, retries=1, concurrency=1, validate_certs=True
    )
    plugin = plugin_module.InventoryModule()
    plugin._options = inventory_options(**dict(client, **options_given))
    plugin._redirected_names = [plugin.NAME]
    plugin._read_config_data = lambda path: {}
    return plugin


@fuzz_settings(80)
@given(
    data=st.data(),
    count=st.integers(0, 6),
    fast_path=st.sampled_from(["auto", "never"]),
    page_size=st.sampled_from([2, 100]),
)
def test_inventory_builds_hosts_or_fails_cleanly(inventory_options, data, count, fast_path, page_size):
    """The plugin over fuzzed batch-query pages: every host it adds carries koophone_instance_id, one
    host per listed phone; or an AnsibleParserError naming what went wrong."""
    service = FuzzService(data.draw, Context(fleet_of(count)), ahead=8)
    plugin = inventory_plugin(inventory_options, {"fast_path": fast_path, "page_size": page_size})
    inventory = InventoryData()
    with serving(service):
        try:
            plugin.parse(inventory, DataLoader(), "fleet.koophone.yml", cache=False)
        except AnsibleError as error:
            assert isinstance(str(error), str)
            return
    phones = [h for h in inventory.hosts.values() if "koophone_instance_id" in h.vars]
    assert len(phones) == len(inventory.hosts)
    assert len(set(h.vars["koophone_instance_id"] for h in phones)) <= len(phones)


# -------------------------------------------------------------------- the parsers on their own

PARSED = ["InstallApp", "CreateInstance", "ExecuteInstanceAuthToken", "BatchResetInstance", "BatchShowSku"]


class _Answer:
    """A request as template() needs it, for the pure parsers."""

    def __init__(self, operation):
        self.operation, self.path, self.query = operation, "/v1/instances/x", {}
        self.body, self.ids = {"count": 2}, ids_of(3)


@fuzz_settings(400)
@given(data=st.data(), operation=st.sampled_from(PARSED))
def test_parsers_read_any_answer_the_client_accepts(data, operation):
    """task_of, created_instance_ids, order_id, session_of, _changes.task_ids and the SKU catalogue,
    on any answer that passed the client's check (error_code "0")."""
    request = _Answer(operation)
    answer = data.draw(bent(template(request, Context())))
    answer, _status = steer(request, answer, 200)
    answer = answer if isinstance(answer, dict) else {"data": answer}
    try:
        client_module._check_answer(operation, 200, answer, "rid")
    except KooPhoneError:
        return
    task_id, jobs = apps.task_of(answer)
    assert isinstance(jobs, dict)
    assert all(isinstance(i, str) for i in kpi.created_instance_ids(answer))
    kpi.order_id(answer)
    session = module("koophone_stream_session").session_of("ph001", answer)
    json.dumps(session)
    for task in changes.task_ids([answer]):
        assert task
    if operation == "BatchShowSku":
        try:
            catalogue, _band = skus.read_catalogue(_Answering(answer))
        except KooPhoneError as error:  # a catalogue of the wrong shape, named
            check_clean_error(error, "BatchShowSku")
            return
        kpi.describe_offers(catalogue)


class _Answering:
    def __init__(self, answer):
        self.answer = answer

    def call(self, *args, **kwargs):
        return self.answer


# -------------------------------------------------------------------- the bugs found, reproduced
#
# Each test is the smallest answer the fuzzing found for one KNOWN_BUGS entry (xfail while listed).


def reproduce(action, **by_operation):
    """``action(client)`` against a ScriptedService, its outcome checked as a module's is."""
    service = ScriptedService(**by_operation)
    with serving(service):
        client = make_client(retries=0)
        try:
            outcome = action(client)
        except ModuleExit as exit_:
            outcome = exit_
        except (KooPhoneError, InvalidOption) as error:
            outcome = error
    if isinstance(outcome, (Exception, ModuleExit)):  # ModuleExit is a SystemExit, not an Exception
        check_outcome(outcome)
    else:
        jsonify(outcome)
    return outcome


def sync_command(client):
    run = commands.CommandRun(["ph001"], False)
    commands.run_sync(client, run, "getprop")
    return {"msg": commands.describe_failures(run), "summary": commands.summarize(run)}


def async_command(client):
    run = commands.CommandRun(["ph001"], True)
    commands.submit_async(client, run, "getprop")
    commands.wait_for_jobs(client, run, 10)
    return {"msg": commands.describe_failures(run), "summary": commands.summarize(run)}


def module_run(module_name, **given_params):
    def action(client):
        params = params_for(module_name, **given_params)
        if hasattr(module(module_name), "validate"):
            module(module_name).validate(params)
        return module(module_name).run(FakeKp(client, params))

    return action


def reset_ph001(**params):
    return module_run(
        "koophone_instance", **dict(dict(state="reset", instance_ids=["ph001"], wait_timeout=10), **params)
    )


def install_ph001():
    return module_run(
        "koophone_app",
        instance_ids=["ph001"],
        name=PACKAGE,
        version="1.0",
        url="https://obs.example.test/packages/app-1.0.apk",
        size_mb=1.0,
        md5="d41d8cd98f00b204e9800998ecf8427e",
        detection="app_list",
        wait_timeout=10,
    )


def installed_by_shell(client):
    return apps.InstalledApps(client, PACKAGE, "command").read(["ph001"])


JOB = {"instance_id": "ph001", "job_id": "job-1"}
UNHASHABLE = {
    "run_sync": (sync_command, {"SyncInvokeInstance": ok({"cmd_results": [{"instance_id": ["ph001"], "status": 2}]})}),
    "submit_async job_id": (
        async_command,
        {"AsyncInvokeInstance": ok({"task_id": "t1", "cmd_jobs": [dict(JOB, job_id=["job-1"])]}), "ExecuteJob": ok()},
    ),
    "submit_async task_id": (
        async_command,
        {"AsyncInvokeInstance": ok({"task_id": ["t1"], "cmd_jobs": [JOB]}), "ExecuteJob": ok()},
    ),
    "wait_for_jobs job_id": (
        async_command,
        {
            "AsyncInvokeInstance": ok({"task_id": "t1", "cmd_jobs": [JOB]}),
            "ExecuteJob": ok({"jobs": [{"job_id": ["job-1"], "status": 2}]}),
        },
    ),
    "task_of": (lambda client: apps.task_of(ok({"task_id": "t1", "cmd_jobs": [dict(JOB, instance_id=["ph001"])]})), {}),
    "add_cloud_status": (
        lambda client: module("koophone_instance_info").add_cloud_status(client, [{"instance_id": "ph001"}]),
        {"BatchShowInstance": ok({"status_results": [{"instance_id": ["ph001"], "status": 2}]})},
    ),
    "record_prepare": (
        lambda client: kpi.Progress(client, "user-1", ["ph001"]).record_prepare(
            [ok({"status_list": [{"instance_id": ["ph001"], "status": 0}]})]
        ),
        {},
    ),
    "reset task_id": (
        reset_ph001(),
        {
            "ListInstances": listing(phone("ph001")),
            "BatchResetInstance": ok({"data": {"task_id": ["RM_1"], "cmd_jobs": []}}),
            "ExecuteJob": ok(),
        },
    ),
    "install task_id": (
        install_ph001(),
        {
            "ListInstanceApp": ok({"result": [], "total_count": 0}),
            "InstallApp": ok({"task_id": ["ZGCA_1"], "cmd_jobs": [JOB]}),
            "ExecuteJob": ok(),
        },
    ),
}


@known_bug("unhashable_ids")
@pytest.mark.parametrize("where", sorted(UNHASHABLE))
def test_an_id_that_is_a_list_is_reported_not_raised(where):
    action, by_operation = UNHASHABLE[where]
    reproduce(action, **by_operation)


@known_bug("item_error_not_text")
@pytest.mark.parametrize(
    "action,result",
    [
        (sync_command, {"instance_id": "ph001", "status": -1, "error_code": "", "error_msg": ["no"]}),
        (installed_by_shell, {"instance_id": "ph001", "status": -1, "error_code": "62019", "error_msg": {"a": 1}}),
    ],
    ids=["failure_groups", "apps.failure"],
)
def test_a_per_instance_error_that_is_not_text_is_reported(action, result):
    reproduce(action, SyncInvokeInstance=ok({"cmd_results": [result]}))


@known_bug("execute_msg_not_text")
@pytest.mark.parametrize(
    "action,outputs",
    [
        (installed_by_shell, [5]),
        (installed_by_shell, ["package:%s" % PACKAGE, ["versionName=1.0"]]),
        (lambda client: apps.uninstall(client, apps.InstalledApps(client, PACKAGE, "command"), ["ph001"]), [7]),
    ],
    ids=["pm list packages", "dumpsys package", "pm uninstall"],
)
def test_a_command_output_that_is_not_text_is_read_as_text(action, outputs):
    answers = [ok({"cmd_results": [{"instance_id": "ph001", "status": 2, "execute_msg": out}]}) for out in outputs]
    reproduce(action, SyncInvokeInstance=answers)


@known_bug("instance_name_not_text")
def test_a_phone_name_that_is_a_number_is_not_a_crash():
    reproduce(
        lambda client: kpi.read_by_prefix(client, "kp"),
        ListInstances=listing({"instance_id": "ph001", "instance_name": 5}),
    )


@known_bug("listed_item_without_id")
@pytest.mark.parametrize(
    "action,others",
    [
        (reset_ph001(instance_ids=None, name_prefix="kp"), {"BatchResetInstance": ok()}),
        (
            module_run("koophone_instance_info", include_cloud_status=True),
            {"BatchShowInstance": ok({"status_results": []})},
        ),
    ],
    ids=["koophone_instance by name_prefix", "koophone_instance_info include_cloud_status"],
)
def test_a_listed_phone_without_an_id_is_skipped_or_reported(action, others):
    reproduce(action, ListInstances=listing({"instance_name": "kp-00001", "running_status": 2}), **others)


@known_bug("failed_job_without_instance_id")
def test_a_failed_reset_job_as_the_reference_shows_it_is_reported():
    """tasks/{task_id} answered exactly as the reference documents JobDetail (no instance_id)."""
    reproduce(
        reset_ph001(wait=True),
        ListInstances=listing(phone("ph001")),
        BatchResetInstance=ok({"data": {"task_id": "RM_1", "cmd_jobs": [JOB]}}),
        ExecuteJob=ok({"jobs": [{"job_id": "job-1", "status": -1, "error_code": "X", "error_msg": "reset failed"}]}),
    )


@known_bug("task_id_not_text")
@pytest.mark.parametrize(
    "action,by_operation",
    [
        (async_command, {"AsyncInvokeInstance": ok({"task_id": 5, "cmd_jobs": [JOB]})}),
        (
            reset_ph001(wait=True),
            {
                "ListInstances": listing(phone("ph001")),
                "BatchResetInstance": ok({"data": {"task_id": 5, "cmd_jobs": [JOB]}}),
            },
        ),
    ],
    ids=["async command", "koophone_instance reset"],
)
def test_a_task_id_that_is_a_number_is_reported_as_text(action, by_operation):
    """The jobs are still running when wait_timeout passes, so the message names their tasks."""
    reproduce(action, ExecuteJob=ok({"jobs": [{"job_id": "job-1", "status": 1}]}), **by_operation)


INFINITY = {
    "sync-command status": (
        sync_command,
        {
            "SyncInvokeInstance": b'{"error_code": "0", "data": {"cmd_results": [{"instance_id": "ph001", "status": '
            b"1e400}]}}"
        },
    ),
    "running_status": (
        module_run("koophone_instance_info", instance_ids=["ph001"]),
        {
            "ListInstances": b'{"data": {"result": [{"instance_id": "ph001", "running_status": 1e400}], '
            b'"total_count": 1}}'
        },
    ),
    "bandSize": (
        skus.read_catalogue,
        {"BatchShowSku": ok({"skuSpecResponseList": [{"regionId": "r", "skuResponses": [{"bandSize": "4,inf"}]}]})},
    ),
}


@known_bug("non_finite_numbers")
@pytest.mark.parametrize("where", sorted(INFINITY))
def test_a_number_that_reads_as_infinity_is_no_crash(where):
    action, by_operation = INFINITY[where]
    replies = dict(
        (name, answered(None, body=answer) if isinstance(answer, bytes) else answer)
        for name, answer in by_operation.items()
    )
    reproduce(action, **replies)


@known_bug("sku_catalogue_shapes")
@pytest.mark.parametrize(
    "data",
    [
        [1],
        {"bandInfo": [1]},
        {"skuSpecResponseList": [[]]},
        {"skuSpecResponseList": [{"skuResponses": 5}]},
        {"skuSpecResponseList": [{"skuResponses": [{"chargeMode": []}]}]},
        {"skuSpecResponseList": [{"skuResponses": [{"poolInfo": {"aosp": [{"version": ["AOSP11"]}]}}]}]},
        {"skuSpecResponseList": [{"skuResponses": [{"poolInfo": {"aosp": [{"version": "AOSP11"}, {"version": 14}]}}]}]},
    ],
)
def test_a_catalogue_of_the_wrong_shape_is_a_clean_error(data):
    reproduce(skus.read_catalogue, BatchShowSku=ok(data))

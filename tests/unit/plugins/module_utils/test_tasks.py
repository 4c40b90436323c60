"""_tasks: the one task poller (finished, unknown, unreadable), and waiting for a state instead."""

import math
import threading

import pytest

from ansible_collections.koophone.cloud.plugins.module_utils import _tasks as tasks
from ansible_collections.koophone.cloud.plugins.module_utils._errors import KooPhoneError


def jobs(*statuses, **fields):
    return {
        "error_code": "0",
        "data": {"jobs": [dict(fields, job_id="j%d" % n, status=s) for n, s in enumerate(statuses)]},
    }


UNKNOWN = {"error_code": "KOOPHONE.API.1323", "error_msg": "task does not exist"}
BUSY = KooPhoneError("busy", operation="ExecuteJob", status=503, error_code="KOOPHONE.API.9999")


def reads(service, task_id=None):
    return [c for c in service.calls_to("ExecuteJob") if task_id in (None, c.path_params["task_id"])]


def answer_tasks(service, **scripts):
    """tasks/{task_id} gives the answers of ``scripts[task_id]`` in turn, the last one again and again."""
    scripts = dict((task_id, list(answers)) for task_id, answers in scripts.items())

    def read(call):
        answers = scripts[call.path_params["task_id"]]
        return answers.pop(0) if len(answers) > 1 else answers[0]

    service.on("ExecuteJob", read)


@pytest.mark.parametrize(
    "statuses,finished",
    [((2, 3, -1), True), ((2, 1), False), ((0,), False), ((), True), ((2, None), False), ((2, "2"), True)],
)
def test_a_task_is_finished_when_every_job_is(statuses, finished):
    task = tasks.Task("t")
    task.found, task.jobs = True, jobs(*statuses)["data"]["jobs"]
    assert task.finished is finished
    assert task.settled is finished


def test_a_task_not_read_yet_is_neither_finished_nor_unknown():
    task = tasks.Task("t")
    assert not task.finished and not task.unknown and not task.unreadable and not task.settled


def test_install_tasks_are_read_until_jobs_finish_and_unknown_tasks_are_told_apart(service, client):
    answer_tasks(
        service,
        ZGCA1=[jobs(1), {"error_code": "0", "data": {"jobs": [{"job_id": "j1", "status": 3, "error_code": "E"}]}}],
        ZGCA2=[UNKNOWN],
    )
    poller = tasks.TaskPoller(client, ["ZGCA1", "ZGCA2"])
    assert poller.wait(10) is True
    assert [task.task_id for task in poller.unknown_tasks()] == ["ZGCA2"]
    assert poller.tasks["ZGCA1"].finished and poller.tasks["ZGCA1"].jobs[0]["status"] == 3
    assert len(reads(service, "ZGCA1")) == 2 and len(reads(service, "ZGCA2")) == 1  # 1323: unknown at once
    assert poller.tasks["ZGCA2"].error.error_code == "KOOPHONE.API.1323"
    assert poller.failed_jobs() == [{"job_id": "j1", "status": 3, "error_code": "E", "task_id": "ZGCA1"}]


RESET_ANSWER = {
    "error_code": "0",
    "data": {
        "data": {
            "task_id": "RM_1",
            "cmd_jobs": [{"instance_id": "ph001", "job_id": "j0"}, {"instance_id": "ph002", "job_id": "j1"}],
        }
    },
}


def test_failed_jobs_are_named_by_the_instances_the_starting_answer_gave_them(service, client):
    """The reference's JobDetail has no instance_id: the answer that started the task tells whose job it is."""
    failed = {"job_id": "j1", "status": -1, "error_code": "X", "error_msg": "reset failed"}
    answer_tasks(service, RM_1=[{"error_code": "0", "data": {"jobs": [{"job_id": "j0", "status": 2}, failed]}}])
    poller = tasks.TaskPoller(client, ["RM_1"])
    assert poller.wait(10) is True
    started = tasks.job_instances([RESET_ANSWER])
    assert started == {"RM_1": {"j0": "ph001", "j1": "ph002"}}
    assert poller.failed_jobs(started) == [dict(failed, task_id="RM_1", instance_id="ph002")]
    assert poller.failed_jobs() == [dict(failed, task_id="RM_1")]  # nothing to tell whose it is
    assert tasks.describe_jobs(poller.failed_jobs(started)) == "instance ph002 (job j1 of task RM_1): reset failed [X]"
    assert tasks.describe_jobs(poller.failed_jobs()) == "job j1 of task RM_1: reset failed [X]"


def test_a_failed_job_of_a_task_started_for_one_instance_is_that_instance(service, client):
    answer_tasks(service, RM_1=[{"error_code": "0", "data": {"jobs": [{"job_id": "other", "status": -1}]}}])
    poller = tasks.TaskPoller(client, ["RM_1"])
    poller.wait(10)
    started = tasks.job_instances(
        [{"data": {"task_id": "RM_1", "cmd_jobs": [{"instance_id": "ph001", "job_id": "j0"}]}}]
    )
    assert poller.failed_jobs(started)[0]["instance_id"] == "ph001"
    assert "failed" in tasks.describe_jobs(poller.failed_jobs(started))


def test_job_ids_and_texts_are_read_as_text_and_task_ids_as_ids(service, client):
    job = {"job_id": 7, "status": -1, "error_code": 62019, "error_msg": {"why": "no"}, "execute_msg": ["out"]}
    answer_tasks(service, **{"5": [{"error_code": "0", "data": {"jobs": [job]}}]})
    poller = tasks.TaskPoller(client, [5, ["RM_1"], None, "5"])  # a number is its digits; a list is no id
    assert list(poller.tasks) == ["5"]
    poller.wait(10)
    assert poller.tasks["5"].jobs == [
        {"job_id": "7", "status": -1, "error_code": "62019", "error_msg": '{"why": "no"}', "execute_msg": '["out"]'}
    ]
    assert tasks.job_instances([{"data": {"task_id": ["RM_1"], "cmd_jobs": []}}, {"data": {}}]) == {}


def test_a_task_without_jobs_is_finished_at_once(service, client):
    answer_tasks(service, ZGCA1=[{"error_code": "0", "data": {"jobs": []}}])
    poller = tasks.TaskPoller(client, ["ZGCA1"])
    assert poller.wait(600) is True
    assert len(reads(service)) == 1


def test_jobs_nested_in_data_data_are_read(service, client):
    answer_tasks(service, t=[{"error_code": "0", "data": {"data": {"jobs": [{"job_id": "j", "status": 2}]}}}])
    poller = tasks.TaskPoller(client, ["t"])
    poller.read_round()
    assert poller.tasks["t"].finished and poller.jobs()[0][1]["job_id"] == "j"


def test_a_task_that_cannot_be_read_is_unreadable_after_max_read_failures(service, client):
    answer_tasks(service, t=[BUSY])
    poller = tasks.TaskPoller(client, ["t"])
    assert poller.wait(600) is True  # settled: nothing more to learn by polling
    assert len(reads(service)) == tasks.MAX_READ_FAILURES
    assert poller.unreadable_tasks() == [poller.tasks["t"]] and poller.unknown_tasks() == []
    assert poller.tasks["t"].error is BUSY


def test_a_good_read_between_failures_starts_the_count_again(service, client):
    answer_tasks(service, t=[BUSY, BUSY, jobs(1), BUSY, BUSY, jobs(2)])
    poller = tasks.TaskPoller(client, ["t"])
    assert poller.wait(600) is True
    assert poller.tasks["t"].finished and poller.unreadable_tasks() == []
    assert len(reads(service)) == 6


def test_on_read_hears_every_successful_read_in_the_calling_thread(service, make_client):
    answer_tasks(service, a=[jobs(1), jobs(2)], b=[BUSY, jobs(2)])
    heard = []
    poller = tasks.TaskPoller(
        make_client(service, concurrency=4),
        ["a", "b"],
        on_read=lambda task: heard.append((task.task_id, [j["status"] for j in task.jobs], threading.get_ident())),
    )
    poller.wait(60)
    assert sorted(entry[:2] for entry in heard) == [("a", [1]), ("a", [2]), ("b", [2])]
    assert {entry[2] for entry in heard} == {threading.get_ident()}


def test_waiting_times_out_with_the_unfinished_tasks_named(service, client, clock):
    answer_tasks(service, slow=[jobs(1)], quick=[jobs(2)])
    poller = tasks.TaskPoller(client, ["slow", "quick"])
    start = clock.now
    assert poller.wait(30) is False
    assert [task.task_id for task in poller.unsettled()] == ["slow"]
    assert 30 <= clock.now - start < 36 and len(reads(service, "quick")) == 1
    assert clock.slept[0] == tasks.FIRST_DELAY and max(clock.slept) <= tasks.MAX_INTERVAL


def test_no_wait_reads_once_and_no_tasks_read_nothing(service, client, clock):
    answer_tasks(service, t=[jobs(1)])
    assert tasks.TaskPoller(client, ["t"]).wait(0) is False
    assert len(reads(service)) == 1 and clock.slept == []
    assert tasks.TaskPoller(client, [None, ""]).wait(600) is True
    assert len(reads(service)) == 1


def test_a_task_id_given_twice_is_read_once_per_round(service, client):
    answer_tasks(service, t=[jobs(2)])
    poller = tasks.TaskPoller(client, ["t", "t"])
    poller.read_round()
    assert list(poller.tasks) == ["t"] and len(reads(service)) == 1


# ---------------------------------------------------------------- waiting for a state


def test_wait_for_state_reads_again_only_what_is_still_pending(client, clock):
    asked, rounds = [], {"n": 0}

    def still_pending(ids):
        asked.append(list(ids))
        rounds["n"] += 1
        return [i for i in ids if i == "slow" and rounds["n"] < 3]

    assert tasks.wait_for_state(client, ["quick", "slow"], still_pending, 60) == []
    assert asked == [["quick", "slow"], ["slow"], ["slow"]]


def test_wait_for_state_returns_what_is_left_after_the_timeout(client, clock):
    start = clock.now
    assert tasks.wait_for_state(client, ["a", "b"], lambda ids: [i for i in ids if i == "b"], 20) == ["b"]
    assert clock.now - start >= 20


def test_wait_for_state_without_time_reads_once_and_without_ids_reads_nothing(client):
    asked = []
    assert tasks.wait_for_state(client, ["a"], lambda ids: asked.append(ids) or ids, 0) == ["a"]
    assert asked == [["a"]]
    assert tasks.wait_for_state(client, [], lambda ids: asked.append(ids) or ids, 60) == []
    assert asked == [["a"]]


# ---------------------------------------------------------------- the adaptive schedule


class FakeClock:
    def __init__(self):
        self.now = 1000.0

    def __call__(self):
        return self.now


def new_schedule():
    """A PollSchedule on a FakeClock that moves only when the test moves it: (schedule, clock, start time)."""
    clock = FakeClock()
    return tasks.PollSchedule(lambda value: value, clock=clock), clock, clock.now


def follow(progress, read_seconds=0.0, horizon=600.0):
    """Follow PollSchedule as the poller does: read, then wait what the schedule says for what was read.

    ``progress(age)``: (what a read at that age sees, whether the work is done then). Reads take
    ``read_seconds``; returns the ages (since the submission) at which reads started.
    """
    schedule, clock, start = new_schedule()
    clock.now += schedule.start()
    reads = []
    while clock.now - start < horizon:
        age = clock.now - start
        reads.append(age)
        clock.now += read_seconds
        value, done = progress(age)
        if done:
            break
        clock.now += schedule.next_delay(value)
    return reads


def simulate(finishes_at, read_seconds=0.0, horizon=600.0):
    """Follow PollSchedule for work that is done at ``finishes_at`` seconds (nothing seen before)."""
    return follow(lambda age: (0, age >= finishes_at), read_seconds, horizon)


def test_the_schedule_starts_short_and_backs_off_while_nothing_changes():
    schedule, clock, start = new_schedule()
    assert schedule.start() == tasks.FIRST_DELAY
    clock.now += tasks.FIRST_DELAY
    delays, ages = [], []
    for _read in range(40):
        ages.append(clock.now - start)
        delays.append(schedule.next_delay(0))
        clock.now += delays[-1]
    assert delays[0] == tasks.MIN_INTERVAL
    for age, delay in zip(ages, delays):
        assert delay == pytest.approx(min(tasks.MAX_INTERVAL, max(tasks.MIN_INTERVAL, (tasks.GROWTH - 1) * age)))
    assert delays == sorted(delays) and delays[-1] == tasks.MAX_INTERVAL


def test_the_schedule_reads_soon_after_work_starts_finishing_then_backs_off_again():
    schedule, clock, start = new_schedule()
    clock.now += schedule.start()
    seen = [0] * 12 + [3, 5, 8, 8, 8, 8]  # nothing for a while, then jobs finishing, then nothing new
    delays, ages = [], []
    for value in seen:
        ages.append(clock.now - start)
        delays.append(schedule.next_delay(value))
        clock.now += delays[-1]
    first = seen.index(3)
    assert delays[first - 1] > 4 * tasks.MIN_INTERVAL  # backed off while nothing finished
    assert delays[first] == tasks.MIN_INTERVAL  # the first completions: the rest is expected soon
    assert schedule.completions == [
        pytest.approx(ages[first]),
        pytest.approx(ages[first + 1]),
        pytest.approx(ages[first + 2]),
    ]
    for age, delay in zip(ages[first:], delays[first:]):  # from then on the time counts from the first completion
        expected = (tasks.GROWTH - 1) * (age - ages[first])
        assert delay == pytest.approx(min(tasks.MAX_INTERVAL, max(tasks.MIN_INTERVAL, expected)))
    assert delays[first:] == sorted(delays[first:])


def finishing(jobs_at, read_seconds=0.0, horizon=600.0):
    """Follow PollSchedule for jobs that finish at the ages ``jobs_at`` (a read sees how many have); return
    the read ages."""

    def progress(age):
        done = sum(1 for at in jobs_at if at <= age)
        return done, done == len(jobs_at)

    return follow(progress, read_seconds, horizon)


@pytest.mark.parametrize("first,spread", [(0.5, 0.1), (2.0, 0.5), (30.0, 20.0), (60.0, 120.0)])
def test_the_last_of_a_spread_of_jobs_is_seen_soon_after_it_ends(first, spread):
    jobs_at = [first + spread * n / 9.0 for n in range(10)]
    reads = finishing(jobs_at)
    last = jobs_at[-1]
    seen = reads[-1]
    assert seen >= last
    # The first completion restarts the clock: the last job is seen within 30% of the time since it.
    assert seen - last <= min(tasks.MAX_INTERVAL, max(tasks.MIN_INTERVAL, (tasks.GROWTH - 1) * (seen - first))) + 1e-9


@pytest.mark.parametrize("duration", [0.05, 0.3, 0.55, 1.0, 2.5, 7.0, 30.0, 120.0, 590.0])
def test_work_is_seen_soon_after_it_finishes_with_few_reads(duration):
    reads = simulate(duration)
    seen = reads[-1]
    assert seen >= duration
    # The wait overshoots by (GROWTH - 1) of the work's own time, at least MIN_INTERVAL, at most MAX_INTERVAL.
    bound = min(tasks.MAX_INTERVAL, max(tasks.MIN_INTERVAL, (tasks.GROWTH - 1) * duration))
    assert seen - duration <= max(bound, tasks.FIRST_DELAY - duration) + 1e-9  # work quicker than the first read
    # Few reads: logarithmic while the interval grows, then one per MAX_INTERVAL.
    growing = math.log(tasks.MAX_INTERVAL / tasks.MIN_INTERVAL) / math.log(tasks.GROWTH) + 2
    assert len(reads) <= growing + duration / tasks.MAX_INTERVAL + 1


def test_the_request_rate_per_task_is_bounded():
    reads = simulate(float("inf"), horizon=120.0)
    gaps = [after - before for before, after in zip(reads, reads[1:])]
    assert min(gaps) >= tasks.MIN_INTERVAL - 1e-9  # at most 1 / MIN_INTERVAL reads per second
    assert sum(1 for age in reads if age < 1.0) <= 1 / tasks.MIN_INTERVAL
    assert max(gaps) == pytest.approx(tasks.MAX_INTERVAL)  # and one per MAX_INTERVAL in the long run


def test_a_round_that_takes_long_is_followed_by_as_long_a_pause():
    """Reading 500 tasks at concurrency 8 takes seconds: the poller reads at most half the time."""
    reads = simulate(float("inf"), read_seconds=3.0, horizon=60.0)
    gaps = [after - before for before, after in zip(reads, reads[1:])]
    assert all(gap >= 2 * 3.0 - 1e-9 for gap in gaps)


def test_wait_follows_the_schedule_and_sees_a_quick_task_quickly(service, client, clock):
    """A task whose jobs finish 0.55 s after the submission is seen well before the old 0.5 s + 0.75 s reads."""
    start = clock.now
    finished_at = start + 0.55

    def read(call):
        return jobs(2 if clock.now >= finished_at else 1)

    service.on("ExecuteJob", read)
    poller = tasks.TaskPoller(client, ["t"])
    assert poller.wait(60) is True
    waited = clock.now - start
    assert 0.55 <= waited <= 0.55 * tasks.GROWTH
    assert clock.slept[0] == tasks.FIRST_DELAY and len(reads(service)) <= 6


def test_wait_for_state_reads_at_once_then_follows_the_schedule(client, clock):
    start = clock.now
    ages = []

    def still_pending(ids):
        ages.append(clock.now - start)
        return ids if clock.now - start < 1.0 else []

    assert tasks.wait_for_state(client, ["a"], still_pending, 60) == []
    assert ages[0] == 0.0 and ages[1] == pytest.approx(tasks.MIN_INTERVAL)
    assert 1.0 <= ages[-1] <= 1.0 * tasks.GROWTH

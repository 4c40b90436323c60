# Copyright: (c) 2026, koophone.cloud contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# Private to the koophone.cloud collection (shared layer; see docs/development.md): not a public API,
# it may change in any release. Do not import it from other collections or standalone plugins.
"""One batched state change, the way every state of every module makes it.

``Changes.apply(operation, ids, make_body, ...)``:

- in check mode sends nothing and reports every id as one that would change;
- otherwise calls the operation in chunks (the client splits, runs them concurrently, and sends
  a chunk refused for a foreign id once more without it);
- a chunk whose answer was lost is never simply sent again: with ``reread``/``still_needed`` its
  ids are read again and only those still needing the change are sent again (and so on, at most
  MAX_RESENDS times, as long as answers keep getting lost); without them (the operation is not
  repeatable, or its effect is not visible) they are *maybe changed*;
- with ``judge``, an answered chunk is read per id: the ids its answer shows unchanged (a per-instance
  refusal inside a "0" answer) are ``refused``, not done;
- records what was done into the module's result as soon as each answer arrives
  (``changed``, ``changed_instance_ids``, ``maybe_changed_instance_ids``, ``task_ids``), so a
  failure in a later step still reports a paid order or a reboot.
"""

from ansible_collections.koophone.cloud.plugins.module_utils import _validation as validation
from ansible_collections.koophone.cloud.plugins.module_utils._client import payload
from ansible_collections.koophone.cloud.plugins.module_utils._errors import KooPhoneError


class ChunkFailure:
    """A chunk the service refused, or whose answer was lost (``error.maybe_applied``)."""

    def __init__(self, ids, error):
        self.ids = ids
        self.error = error

    def to_dict(self):
        return dict(self.error.to_dict(), instance_ids=self.ids, msg=str(self.error))

    def only(self, ids):
        """This failure, for those of its ids that are in ``ids``."""
        return ChunkFailure([i for i in self.ids if i in ids], self.error)


class Outcome:
    """What a batch operation did: ``answers`` of accepted chunks, ids ``done`` (accepted, or shown
    changed by a re-read), ids ``maybe`` changed (lost and not sent again) and every ``failures``;
    ``refused``: {id: why} of ids in answered chunks that the ``judge`` found unchanged."""

    def __init__(self):
        self.answers = []
        self.done = []
        self.maybe = []
        self.failures = []
        self.refused = {}

    @property
    def failed_ids(self):
        return [i for failure in self.failures for i in failure.ids]

    def add(self, chunks, judge=None):
        """Sort answered and refused chunks in; return the lost ones for the caller to decide.

        ``judge(chunk)``, for each answered chunk (in the calling thread): {id: why} of its ids the
        answer shows unchanged; the others are done.
        """
        unsure = []
        for chunk in chunks:
            if not chunk.failed:
                self.answers.append(chunk.answer)
                refused = judge(chunk) if judge is not None else {}
                self.refused.update(refused)
                self.done.extend(i for i in chunk.ids if i not in refused)
            elif chunk.error.maybe_applied:
                unsure.append(ChunkFailure(chunk.ids, chunk.error))
            else:
                self.failures.append(ChunkFailure(chunk.ids, chunk.error))
        return unsure

    def lost(self, unsure):
        """Lost chunks that are not sent again: failures that may have applied."""
        self.failures.extend(unsure)
        self.maybe.extend(i for failure in unsure for i in failure.ids)

    def in_order(self, ids):
        done, maybe = set(self.done), set(self.maybe)
        self.done = [i for i in validation.unique(ids) if i in done]
        self.maybe = [i for i in validation.unique(ids) if i in maybe and i not in done]
        return self


# A chunk whose answer was lost is re-read and what still needs the change is sent again, at most
# this many times: each re-send can be lost too (a 5xx after a 5xx), and a change the listing shows
# is safe to send once more to what the listing proves unchanged.
MAX_RESENDS = 4

# What ``reread`` gives for an id it could not read: nothing proves what the lost chunk did there,
# so the id is not sent again and stays maybe changed.
UNKNOWN = object()


def apply_batched(
    client,
    operation_name,
    ids,
    make_body,
    reread=None,
    still_needed=None,
    settle=None,
    judge=None,
    resends=MAX_RESENDS,
):
    """Call a batch operation over ``ids`` in chunks; return an Outcome (see the module docstring).

    ``settle(ids)``, for a change that may take a while to show in the listing, waits for it before
    the re-read; it is called for chunks whose answer was lost in the network, not for those the
    service answered with an error (5xx), which are re-read at once. ``reread`` may map an id to
    UNKNOWN (it could not be read). ``judge``: see Outcome.add. ``resends``: how many times lost
    chunks are re-read and sent again at most (MAX_RESENDS unless the caller allows fewer sends).
    """
    outcome = Outcome()
    unsure = outcome.add(client.call_batched(operation_name, ids, make_body), judge)
    for _round in range(resends if reread is not None else 0):
        if not unsure:
            break
        unsure_ids = [i for failure in unsure for i in failure.ids]
        try:
            silent = [i for failure in unsure if failure.error.status is None for i in failure.ids]
            if settle is not None and silent:
                settle(silent)
            current = reread(unsure_ids)
        except KooPhoneError:
            break  # nothing proves what the lost chunks did: report them as such, send nothing more
        unknown = set(i for i in unsure_ids if current.get(i) is UNKNOWN)
        outcome.lost([part for part in (failure.only(unknown) for failure in unsure) if part.ids])
        remaining = [i for i in unsure_ids if i not in unknown and still_needed(current.get(i))]
        outcome.done.extend(i for i in unsure_ids if i not in set(remaining) and i not in unknown)
        unsure = outcome.add(client.call_batched(operation_name, remaining, make_body), judge) if remaining else []
    outcome.lost(unsure)
    return outcome.in_order(ids)


class Changes:
    """What one module run changes, kept in ``kp.result`` from the first request on."""

    def __init__(self, kp, with_tasks=False, **result):
        self.kp = kp
        self.result = kp.result
        self.result.update(result, changed=False, changed_instance_ids=[], maybe_changed_instance_ids=[])
        if with_tasks:
            self.result["task_ids"] = []

    def would_change(self, ids):
        """Check mode, or a plan: report ``ids`` as changing without sending anything."""
        self.result["changed"] = bool(self.result["changed"] or ids)
        self.result["changed_instance_ids"] = validation.unique(self.result["changed_instance_ids"] + list(ids))

    def apply(self, operation_name, ids, make_body, **how):
        """Make the change on ``ids`` (nothing is sent in check mode); return the Outcome.

        ``how``: apply_batched's reread, still_needed, settle, judge and resends (in check mode
        nothing is sent, re-read or judged).
        """
        if self.kp.check_mode:
            outcome = Outcome()
            outcome.done = list(ids)
        else:
            outcome = apply_batched(self.kp.client, operation_name, ids, make_body, **how)
        self.record(outcome)
        return outcome

    def confirm(self, ids):
        """``ids`` whose answer was lost and that a later re-read shows changed: changed, no longer maybe."""
        outcome = Outcome()
        outcome.done = list(ids)
        self.record(outcome)

    def record(self, outcome):
        done = validation.unique(self.result["changed_instance_ids"] + outcome.done)
        maybe = [
            i for i in validation.unique(self.result["maybe_changed_instance_ids"] + outcome.maybe) if i not in done
        ]
        self.result.update(changed=bool(self.result["changed"] or done or maybe), changed_instance_ids=done)
        self.result["maybe_changed_instance_ids"] = maybe
        if "task_ids" in self.result:
            self.result["task_ids"].extend(task_ids(outcome.answers))

    def fail_on(self, outcome, what, total, **extra):
        """Fail the task naming every failed chunk, if any (what was done stays in the result)."""
        if outcome.failures:
            fail(
                self.kp,
                "%s failed for %d of %d instance(s)" % (what, len(set(outcome.failed_ids)), total),
                outcome.failures,
                **extra,
            )


def task_ids(answers):
    """The task ids of reset/unassign/backup answers: ``data.task_id`` or nested ``data.data.task_id``.

    An id the service writes as a number is read as its digits; one of any other type is no id.
    """
    found = (validation.id_text(payload(answer, "task_id").get("task_id")) for answer in answers)
    return [task_id for task_id in found if task_id]


def fail(kp, msg, failures=(), **result):
    """kp.fail naming each failed chunk with its instances (capped; the chunks are in ``failed_chunks``)."""
    details = [failure.to_dict() for failure in failures]
    if details:
        result["failed_chunks"] = details
        named = ["%s (instances %s)" % (d["msg"], validation.some(d["instance_ids"])) for d in details]
        msg = "%s: %s" % (msg, "; ".join(named[: validation.NAMED]))
        if len(named) > validation.NAMED:
            msg += "; and %d more failed requests (failed_chunks)" % (len(named) - validation.NAMED)
    kp.fail(msg=msg, **result)

# Copyright: (c) 2026, koophone.cloud contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# Private to the koophone.cloud collection (capability layer; see docs/development.md): not a public API,
# it may change in any release. Do not import it from other collections or standalone plugins.
"""From a batch-query snapshot to inventory hosts: filters, host names, host variables, groups.

The inventory plugin (plugins/inventory/koophone.py) is the Ansible glue; everything here is
plain data in, plain data out, so it can be tested without an inventory and stays fast at
10,000 phones (each filter is compiled once; nothing is templated unless the user asked).
"""

import re
from collections import Counter
from fnmatch import fnmatchcase

from ansible_collections.koophone.cloud.plugins.module_utils import _statuses as statuses
from ansible_collections.koophone.cloud.plugins.module_utils import _validation as validation
from ansible_collections.koophone.cloud.plugins.module_utils._errors import InvalidOption

HOSTVAR_PREFIX = "koophone_"
ALL_PHONES_GROUP = "koophone"

# The batch-query result fields (reference Table 4-72, ListInstances.json).
FIELDS = (
    "instance_id",
    "instance_name",
    "region",
    "instance_sku",
    "frozen_status",
    "running_status",
    "login_status",
    "assign_status",
    "assign_user",
    "billing_mode",
    "project_id",
    "project_name",
    "phone_id",
    "member_name",
    "account_name",
    "region_name",
    "region_name_en",
    "backup_status",
    "backup_time",
    "restore_status",
    "restore_time",
)
STATUS_FIELDS = statuses.INSTANCE_FIELDS
# Filters may name a status field by its readable companion too: running_status_name: running.
FILTERABLE = frozenset(FIELDS) | frozenset(field + "_name" for field in STATUS_FIELDS)

DEFAULT_GROUP_KINDS = ("region", "sku", "running_status", "assign_status", "assign_user")
GROUP_PREFIX = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_NOT_WORD = re.compile(r"\W+")
_VARIABLE_NAME = re.compile(r"^[A-Za-z_]\w*$")
_ABSENT = object()  # a status field the item does not have (None is a value the API may send)


# -------------------------------------------------------------------- filters


def status_number(option, field, value):
    """A status given as its number (2, "2") or readable name ("running") -> the number."""
    table = STATUS_FIELDS[field]
    text = ("%s" % (value,)).strip()
    if text.lstrip("-").isdigit() and int(text) in table:
        return int(text)
    for number, name in table.items():
        if name == text.lower():
            return number
    choices = ", ".join("%s (%s)" % (name, number) for number, name in sorted(table.items()))
    raise InvalidOption(option, "%s %r is not a known status; use one of %s" % (field, value, choices))


def _field_matcher(option, key, wanted):
    """One field of a filter: the item's value must match any of ``wanted``."""
    if key not in FILTERABLE:
        raise InvalidOption(
            option, "%r is not a batch-query field; use one of %s" % (key, ", ".join(sorted(FILTERABLE)))
        )
    values = wanted if isinstance(wanted, (list, tuple)) else [wanted]
    if not values:
        raise InvalidOption(option, "%s has an empty list of values" % key)
    field = key[: -len("_name")] if key.endswith("_name") and key[: -len("_name")] in STATUS_FIELDS else key
    if field in STATUS_FIELDS:
        numbers = frozenset(status_number(option, field, value) for value in values)
        return lambda item: validation.as_int(item.get(field)) in numbers
    patterns = tuple("%s" % (value,) for value in values)
    return lambda item: _matches_any("" if item.get(field) is None else "%s" % (item[field],), patterns)


def _matches_any(text, patterns):
    # Shell-style wildcards (*, ?, [abc]); a pattern without them is plain equality.
    return any(text == pattern or fnmatchcase(text, pattern) for pattern in patterns)


def compile_filter(option, spec, compile_expression=None):
    """One include/exclude entry -> a predicate over a batch-query item.

    A dict {field: value or [values]} is true when every field matches (AND); it is plain Python,
    cheap at any fleet size. A string is a Jinja conditional over the phone's ``koophone_*``
    variables, turned into a predicate by ``compile_expression(option, expression)``, which the
    plugin supplies (it owns the templar).
    """
    if isinstance(spec, str):
        if not spec.strip():
            raise InvalidOption(option, "an expression entry must not be empty")
        if compile_expression is None:
            raise InvalidOption(option, "expression entries are not supported here, got %r" % (spec,))
        return compile_expression(option, spec)
    if not isinstance(spec, dict):
        raise InvalidOption(
            option, "each entry must be a dictionary of field: value(s) or a conditional expression, got %r" % (spec,)
        )
    matchers = [_field_matcher(option, key, wanted) for key, wanted in spec.items() if wanted is not None]
    return lambda item: all(match(item) for match in matchers)


def _cheap_first(option, specs, compile_expression):
    # any() stops at the first match: dictionary entries cost microseconds, expressions a template
    # evaluation each, so expressions run only for phones the dictionaries did not settle.
    ordered = sorted(specs or [], key=lambda spec: isinstance(spec, str))
    return [compile_filter(option, spec, compile_expression) for spec in ordered]


def compile_selection(named, include_filters, exclude_filters, compile_expression=None):
    """The whole client-side selection as one predicate, evaluated against one snapshot.

    A phone is kept when it passes every ``named`` filter (a dict of option -> (field, values)),
    matches at least one of ``include_filters`` (when any are given) and none of ``exclude_filters``.
    With no filter at all the result is None: every phone is kept, and nothing needs calling.
    """
    required = [
        _field_matcher(option, field, values) for option, (field, values) in named.items() if values is not None
    ]
    included = _cheap_first("include_filters", include_filters, compile_expression)
    excluded = _cheap_first("exclude_filters", exclude_filters, compile_expression)
    if not (required or included or excluded):
        return None

    def keep(item):
        return (
            all(match(item) for match in required)
            and (not included or any(match(item) for match in included))
            and not any(match(item) for match in excluded)
        )

    return keep


# -------------------------------------------------------------------- host variables

# Which batch-query fields become host variables (the inventory option ``hostvars``). ansible-core's
# own cost grows with the number of host variables, not with what the plugin does: it computes,
# merges and prints every variable of every host on each run (10,000 static hosts take ~9 s to
# --list with 29 variables each, ~2.9 s with one). So by default a host carries what plays use:
# which phone it is (what every module's instance_ids takes), its name, where it is, whether it runs
# and whose it is. The templates (compose, groups, keyed_groups, hostnames, Jinja filters) always see
# every field, whatever is set.
# The readable status names are not in it: the default groups already spell them (koophone_status_running,
# koophone_assigned), and a string costs ansible-core's --list about 3x a number (every string an
# inventory plugin sets is untrusted, written as {"__ansible_unsafe": ...}): ~0.2 s at 10,000 phones.
LEAN_HOSTVARS = (
    "instance_id",
    "instance_name",
    "region",
    "running_status",
    "assign_status",
    "assign_user",
)
HOSTVARS_PRESETS = {"lean": LEAN_HOSTVARS}
HOSTVARS_FULL = "full"
# What an entry of ``hostvars`` may name: a field, or a status field's readable companion.
HOSTVAR_FIELDS = FIELDS + tuple(field + "_name" for field in STATUS_FIELDS)


def hostvar_fields(option, entries):
    """The ``hostvars`` option -> None (every field, and any the API adds later) or the selected fields.

    Entries are the presets V(lean) and V(full), field names (with or without the ``koophone_``
    prefix) and status companions such as ``running_status_name``; they add up, so
    ``[lean, billing_mode]`` is the lean set and one more. ``instance_id`` is always included:
    every host has ``koophone_instance_id`` (``[]`` sets that one only).
    """
    if entries is None:
        entries = ["lean"]
    if isinstance(entries, str):
        entries = [entries]
    if not isinstance(entries, (list, tuple)):
        raise InvalidOption(option, "must be lean, full or a list of field names, got %r" % (entries,))
    selected = ["instance_id"]
    for entry in entries:
        text = ("%s" % (entry,)).strip() if isinstance(entry, str) else None
        if text == HOSTVARS_FULL:
            return None
        if text in HOSTVARS_PRESETS:
            selected.extend(HOSTVARS_PRESETS[text])
            continue
        field = text[len(HOSTVAR_PREFIX) :] if text and text.startswith(HOSTVAR_PREFIX) else text
        if field not in HOSTVAR_FIELDS:
            raise InvalidOption(
                option,
                "%r is neither lean, full nor a batch-query field; use lean, full or fields among %s"
                % (entry, ", ".join(HOSTVAR_FIELDS)),
            )
        selected.append(field)
    return tuple(dict.fromkeys(selected))


def variable_name(field):
    """``koophone_<field>``; a field name that is not a valid variable name is made one."""
    name = HOSTVAR_PREFIX + field
    return name if _VARIABLE_NAME.match(name) else _NOT_WORD.sub("_", name)


class HostVarsBuilder:
    """Builds each phone's ``koophone_*`` variables, plus ``extra`` variables every phone gets.

    ``fields`` (from hostvar_fields) limits them to those fields and status names; None gives every
    field the item has, including fields the API adds later, and every status name.

    It runs once per phone (twice with hostname templates or expression filters), so everything
    that repeats across phones is worked out once: the prefixed name of each field, and the
    readable status names of each combination of status values (a fleet has a handful).
    """

    def __init__(self, extra=None, fields=None):
        self._names = dict((field, variable_name(field)) for field in FIELDS)
        if fields is None:
            self._selected = None
            self._status_fields = tuple(STATUS_FIELDS)
        else:
            self._selected = tuple((field, variable_name(field)) for field in fields if field in FIELDS)
            self._status_fields = tuple(field for field in STATUS_FIELDS if field + "_name" in fields)
        self._absent = (_ABSENT,) * len(self._status_fields)
        self._extra = dict(extra or {})
        self._readable_and_extra = {}

    def __call__(self, item):
        if self._selected is not None:
            variables = {name: item[field] for field, name in self._selected if field in item}
        else:
            names = self._names
            try:
                variables = {names[field]: value for field, value in item.items()}
            except KeyError:  # a field the API added after this was written: keep it too
                names.update((field, variable_name(field)) for field in item if field not in names)
                variables = {names[field]: value for field, value in item.items()}
        variables.update(self._readable(item))
        return variables

    def _readable(self, item):
        """{koophone_<status field>_name: readable name} for the status fields the item has, and the extras."""
        key = tuple(map(item.get, self._status_fields, self._absent))
        try:
            return self._readable_and_extra[key]
        except KeyError:
            pass
        except TypeError:  # an unhashable value (a list, a dict) where a number belongs: no caching
            return self._describe(key)
        readable = self._readable_and_extra[key] = self._describe(key)
        return readable

    def _describe(self, values):
        readable = dict(
            (variable_name(field + "_name"), statuses.name_of(STATUS_FIELDS[field], value))
            for field, value in zip(self._status_fields, values)
            if value is not _ABSENT
        )
        readable.update(self._extra)
        return readable


# -------------------------------------------------------------------- groups


def slug(text):
    """A readable group-name part: lower case, every run of non-word characters one ``_``."""
    return _NOT_WORD.sub("_", ("%s" % (text,)).lower()).strip("_")


class DefaultGroups:
    """The default group names of a phone (``kinds`` from DEFAULT_GROUP_KINDS).

    Phones share a handful of regions, SKUs and states, so names are worked out once per
    distinct combination of the fields they depend on.
    """

    def __init__(self, kinds, prefix):
        self.kinds = frozenset(kinds)
        self.prefix = check_group_prefix("group_prefix", prefix)
        self._fields = ("region", "instance_sku", "running_status", "assign_status")
        if "assign_user" in self.kinds:  # one group per user: only then does the user matter
            self._fields += ("assign_user",)
        self._by_key = {}

    def __call__(self, item):
        key = tuple(map(item.get, self._fields))
        try:
            names = self._by_key.get(key)
        except TypeError:  # an unhashable value (a list, a dict) where text or a number belongs: no caching
            return self._names(*key)
        if names is None:
            names = self._by_key[key] = self._names(*key)
        return names

    def _names(self, region, sku, running_status, assign_status, assign_user=None):
        kinds, prefix = self.kinds, self.prefix
        names = []
        if "region" in kinds and region:
            names.append("%sregion_%s" % (prefix, slug(region)))
        if "sku" in kinds and sku:
            names.append("%ssku_%s" % (prefix, slug(sku)))
        if "running_status" in kinds and running_status is not None:
            names.append("%sstatus_%s" % (prefix, statuses.name_of(statuses.RUNNING_STATUS, running_status)))
        if "assign_status" in kinds and assign_status is not None:
            names.append(prefix + statuses.name_of(statuses.ASSIGN_STATUS, assign_status))
        if "assign_user" in kinds and assign_user and validation.as_int(assign_status) == 1:
            names.append("%suser_%s" % (prefix, slug(assign_user)))
        # slug() may leave nothing of a value made only of punctuation; such a group is not made.
        return tuple(name for name in names if not name.endswith("_"))


def check_group_prefix(option, prefix):
    """A prefix Ansible accepts at the start of a group name: letters, digits and _, not a digit first."""
    text = "" if prefix is None else "%s" % (prefix,)
    if text and not GROUP_PREFIX.match(text):
        raise InvalidOption(
            option, "%r cannot start a group name: use letters, digits and _ only, not starting with a digit" % (text,)
        )
    return text


# -------------------------------------------------------------------- host names

# Names Ansible gives a meaning of its own: a phone called "all" would be merged into the all group
# (ansible-inventory --export then shows one host), one called "localhost" would take over plays
# meant for the controller.
RESERVED_HOSTNAMES = frozenset(("all", "ungrouped", "localhost", "localhost.localdomain", "127.0.0.1", "::1"))
# Control characters (ANSI escapes among them) would reach the terminal raw in --graph and in messages.
INVALID_HOSTNAME = re.compile(r"[\x00-\x1f\x7f]")


def hostname_problem(name):
    """Why ``name`` cannot be a host name, or None."""
    if name in RESERVED_HOSTNAMES:
        return "is a name Ansible reserves"
    if INVALID_HOSTNAME.search(name):
        return "holds control characters"
    return None


def printable(text):
    """``text`` safe for a terminal: control characters (ANSI escapes among them) shown escaped."""
    return "".join(char if char.isprintable() else repr(char)[1:-1] for char in "%s" % (text,))


def is_template(entry):
    return "{{" in entry or "{%" in entry


def check_hostnames(option, preferences):
    for entry in preferences:
        if not isinstance(entry, str) or not entry.strip():
            raise InvalidOption(option, "entries must be field names or templates, got %r" % (entry,))
        field = entry[len(HOSTVAR_PREFIX) :] if entry.startswith(HOSTVAR_PREFIX) else entry
        if not is_template(entry) and field not in FIELDS:
            raise InvalidOption(
                option, "%r is neither a batch-query field (%s) nor a template" % (entry, ", ".join(FIELDS))
            )


class HostnamePreferences:
    """The ``hostnames`` option (already checked by check_hostnames), worked out once for all phones.

    Calling it with a batch-query item gives the first non-empty hostname the preferences give,
    and the instance id as the last resort. ``render(template, item)`` evaluates a template entry
    (the plugin passes its templar).
    """

    def __init__(self, preferences, render):
        self.render = render
        self._entries = [
            (True, entry)
            if is_template(entry)
            else (False, entry[len(HOSTVAR_PREFIX) :])
            if entry.startswith(HOSTVAR_PREFIX)
            else (False, entry)
            for entry in preferences
        ]

    def __call__(self, item):
        """The hostname, and what was wrong with the preferred one when the instance id stands in."""
        for template, key in self._entries:
            value = self.render(key, item) if template else item.get(key)
            if value is not None:
                text = "%s" % (value,)
                if text not in ("", "null", "None"):
                    problem = hostname_problem(text)
                    if problem is None:
                        return text, None
                    return "%s" % (item["instance_id"],), "%r %s" % (printable(text), problem)
        return "%s" % (item["instance_id"],), None


class HostnameCollision(Exception):
    def __init__(self, collisions):
        self.collisions = collisions
        super().__init__(describe_collisions(collisions))


def describe_collisions(collisions, limit=5):
    shown = ", ".join("%r (%s)" % (name, ", ".join(ids)) for name, ids in sorted(collisions.items())[:limit])
    more = len(collisions) - limit
    return "%d hostname(s) shared by several phones: %s%s" % (
        len(collisions),
        shown,
        " and %d more" % more if more > 0 else "",
    )


def unique_hostnames(names, instance_ids, strict=False):
    """One distinct hostname per phone, from each one's preferred name; no phone is ever dropped.

    Phones whose preferred names collide all get ``_<instance_id>`` appended (so a name does not
    depend on which phone the API listed first), or, with ``strict``, HostnameCollision is raised.
    Returns (final names in the same order, collisions) where collisions maps each shared name to
    the instance ids.
    """
    counts = Counter(names)
    collisions = {}
    for name, instance_id in zip(names, instance_ids):
        if counts[name] > 1:
            collisions.setdefault(name, []).append("%s" % (instance_id,))
    if not collisions:
        return list(names), collisions
    if strict:
        raise HostnameCollision(collisions)
    used = set(name for name in names if counts[name] == 1)
    final = []
    for name, instance_id in zip(names, instance_ids):
        if counts[name] > 1:
            name = "%s_%s" % (name, instance_id)
            # A renamed phone could meet another phone's own name; grow the name until it is free.
            while name in used:
                name = "%s_%s" % (name, instance_id)
            used.add(name)
        final.append(name)
    return final, collisions


def assign_hostnames(items, preferences, render, strict=False):
    """[(hostname, item)] with one distinct hostname per phone, and the collisions (see unique_hostnames)."""
    preferred_name = HostnamePreferences(preferences, render)
    names = [preferred_name(item)[0] for item in items]
    final, collisions = unique_hostnames(names, [item["instance_id"] for item in items], strict)
    return list(zip(final, items)), collisions

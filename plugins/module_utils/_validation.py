# Copyright: (c) 2026, koophone.cloud contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# Private to the koophone.cloud collection (shared layer; see docs/development.md): not a public API,
# it may change in any release. Do not import it from other collections or standalone plugins.
"""Checks for the limits the API reference states, run before any request is sent.

Each raises InvalidOption naming the option and the limit, so a user sees what to fix
without a round trip to the service.
"""

import json
import re
import time

from ansible_collections.koophone.cloud.plugins.module_utils._errors import InvalidOption

MAX_ID_LENGTH = 32
MAX_COMMAND_BYTES = 1024
FORBIDDEN_IN_ID = re.compile(r"[\s\x00-\x1f\x7f/?#%\\]")
QUERY_TIME_FORMAT = re.compile(r"^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}$")
# The characters the reference allows in a command (§4.1.1: letters, digits and _ . / : -), plus the
# space its own examples use. Commands the collection composes itself stay within them; a user's
# command is sent as given, and a refusal is reported with the service's code and text.
PORTABLE_COMMAND = re.compile(r"^[A-Za-z0-9 _./:-]+$")


def check_ids(option, ids, max_length=MAX_ID_LENGTH):
    """Instance (or user) ids: non-empty strings of at most ``max_length`` characters.

    The reference gives ids no character set, but an id travels in URL paths
    (``/v1/instances/{instance_id}/auth``) and in messages: whitespace, control characters and the
    characters that change a URL's meaning (``/ ? # %`` and the backslash) are refused, so no id can leave its path.
    """
    for value in ids or []:
        text = "%s" % (value,)
        if not text.strip():
            raise InvalidOption(option, "contains an empty id")
        if len(text) > max_length:
            raise InvalidOption(
                option, "id %r is %d characters long; the API allows at most %d" % (text, len(text), max_length)
            )
        if FORBIDDEN_IN_ID.search(text) or not text.strip("."):
            raise InvalidOption(
                option,
                "id %r contains a character an id cannot hold (whitespace, control characters, / ? # %% or a backslash)"
                " or is only dots" % (text,),
            )
    return ids


def check_length(option, value, maximum):
    if value is not None and len("%s" % (value,)) > maximum:
        raise InvalidOption(
            option, "is %d characters long; the API allows at most %d" % (len("%s" % (value,)), maximum)
        )
    return value


def check_range(option, value, minimum, maximum):
    if value is not None and not minimum <= value <= maximum:
        raise InvalidOption(option, "is %s; it must be between %s and %s" % (value, minimum, maximum))
    return value


def check_query_time(option, value):
    """batch-query's time filters: 'YYYY-MM-DD HH:MM:SS' in UTC, and a time that exists."""
    if value is None:
        return value
    if not QUERY_TIME_FORMAT.match(value):
        raise InvalidOption(option, "must look like '2023-08-15 14:30:45' (UTC), got %r" % (value,))
    try:
        time.strptime(value, "%Y-%m-%d %H:%M:%S")
    except ValueError:
        raise InvalidOption(option, "%r is not a real date and time (UTC)" % (value,)) from None
    return value


def check_command(option, command):
    if command is None or not command.strip():
        raise InvalidOption(option, "must not be empty")
    size = len(command.encode("utf-8"))
    if size > MAX_COMMAND_BYTES:
        raise InvalidOption(option, "is %d bytes; the API allows at most %d bytes" % (size, MAX_COMMAND_BYTES))
    return command


def as_int(value):
    """An API number (sent as a number or a string) as an int, or None (also for infinity and NaN,
    which a JSON parser makes of 1e400)."""
    try:
        return int(value)
    except (TypeError, ValueError, OverflowError):
        return None


def as_text(value):
    """A field the reference types String (a message, an output, a name) as text, or None.

    A service that sends a number, a list or an object there still gets its words shown: scalars as
    written, containers as JSON.
    """
    if value is None or isinstance(value, str):
        return value
    if isinstance(value, (dict, list)):
        try:
            return json.dumps(value, sort_keys=True, ensure_ascii=False, default=str)
        except (TypeError, ValueError, RecursionError):
            return "(unreadable %s)" % type(value).__name__
    return "%s" % (value,)


def kind_of(value):
    """How a message names the type of a value an answer holds where another belongs: ``a list``, ``null``..."""
    if value is None:
        return "null"
    names = {dict: "an object", list: "a list", str: "a string", bool: "a boolean"}
    return names.get(type(value), "a number")


def id_text(value):
    """An id from an answer (instance, job, task) as text, or None when it cannot be one.

    Ids are compared with, and keyed by, the ids the collection sent: an id the service writes as a
    number is read as its digits; null, "", a boolean, a list or an object is no id at all.
    """
    if isinstance(value, str):
        return value or None
    if isinstance(value, int) and not isinstance(value, bool):
        return "%d" % value
    return None


# A message names this many instances (or chunks, or reasons); the rest are counted.
NAMED = 10


def some(values, limit=NAMED, separator=", "):
    """``"a, b, c and 7 more"``: a list for a message, capped at ``limit`` names."""
    values = ["%s" % (value,) for value in values]
    more = " and %d more" % (len(values) - limit) if len(values) > limit else ""
    return separator.join(values[:limit]) + more


def unique(values):
    """``values`` without repeats, first occurrence first: an id given twice is acted on once."""
    return list(dict.fromkeys(values))

# Copyright: (c) 2026, koophone.cloud contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# Private to the koophone.cloud collection (capability layer; see docs/development.md): not a public API,
# it may change in any release. Do not import it from other collections or standalone plugins.
"""Video settings for koophone_video: validation, the ergonomic form, and the record of what was applied.

The service wants all six network_type x encoding_type combinations in every request
(PUT /v1/instances/video-setting, reference §4.1.4, error 1005), each with a bit rate (100-10,000
kbit/s in steps of 100) and a frame rate (30 or 60) for 540p, 720p and 1080p. It offers no way to
read settings back, so koophone_video keeps a record, on the machine the module runs on, of the
settings it last applied to each instance (a fingerprint per instance, plus the settings each
fingerprint stands for). That record is what makes a second run report ``changed: false``.
"""

import hashlib
import json
import os
import time

from ansible_collections.koophone.cloud.plugins.module_utils._errors import InvalidOption
from ansible_collections.koophone.cloud.plugins.module_utils._records import JsonRecord, RecordError, default_path

NETWORK_TYPES = ("WIFI", "MOBILE_NETWORK", "WIRED")
ENCODING_TYPES = ("H264", "H265")
COMBINATIONS = tuple((network, encoding) for network in NETWORK_TYPES for encoding in ENCODING_TYPES)
# Module option names; the API spells the suffix in capitals (definition_540P).
DEFINITIONS = ("definition_540p", "definition_720p", "definition_1080p")
API_DEFINITION = dict((name, name[:-1] + "P") for name in DEFINITIONS)
# The reference: 100-10,000 kbit/s, a multiple of 100 (the API Explorer says 0-10,000; 0 is not sent).
CODE_RATE_MIN, CODE_RATE_MAX, CODE_RATE_STEP = 100, 10000, 100
FPS_CHOICES = (30, 60)
RECORD_VERSION = 1
RECORD_KIND = "video-settings"


# ---------------------------------------------------------------- validation and expansion


def check_spec(where, spec):
    """One definition's {code_rate, fps}: both present, within the API's limits."""
    if not isinstance(spec, dict):
        raise InvalidOption(where, "must be a dictionary with code_rate and fps")
    for field in ("code_rate", "fps"):
        if spec.get(field) is None:
            raise InvalidOption("%s.%s" % (where, field), "is required")
    code_rate, fps = spec["code_rate"], spec["fps"]
    if not CODE_RATE_MIN <= code_rate <= CODE_RATE_MAX:
        raise InvalidOption(
            "%s.code_rate" % where,
            "is %s; it must be between %d and %d (kbit/s)" % (code_rate, CODE_RATE_MIN, CODE_RATE_MAX),
        )
    if code_rate % CODE_RATE_STEP:
        raise InvalidOption("%s.code_rate" % where, "is %s; it must be a multiple of %d" % (code_rate, CODE_RATE_STEP))
    if fps not in FPS_CHOICES:
        raise InvalidOption("%s.fps" % where, "is %s; it must be 30 or 60" % (fps,))
    return {"code_rate": code_rate, "fps": fps}


def check_definitions(where, entry):
    """All three definitions of one combination, each checked."""
    checked = {}
    for name in DEFINITIONS:
        if entry.get(name) is None:
            raise InvalidOption("%s.%s" % (where, name), "is required: 540p, 720p and 1080p must all be given")
        checked[name] = check_spec("%s.%s" % (where, name), entry[name])
    return checked


def label(combination):
    return "network_type=%s, encoding_type=%s" % combination


def from_settings(settings):
    """The raw form: a list with each of the six combinations exactly once -> {combination: definitions}."""
    if not settings:
        raise InvalidOption("settings", "must list the six network_type x encoding_type combinations")
    combinations, seen_at = {}, {}
    for index, entry in enumerate(settings):
        where = "settings[%d]" % index
        combination = (entry.get("network_type"), entry.get("encoding_type"))
        if combination[0] not in NETWORK_TYPES:
            raise InvalidOption(where + ".network_type", "must be one of %s" % ", ".join(NETWORK_TYPES))
        if combination[1] not in ENCODING_TYPES:
            raise InvalidOption(where + ".encoding_type", "must be one of %s" % ", ".join(ENCODING_TYPES))
        if combination in seen_at:
            raise InvalidOption(
                where, "repeats the combination %s (already settings[%d])" % (label(combination), seen_at[combination])
            )
        seen_at[combination] = index
        combinations[combination] = check_definitions(where, entry)
    missing = [label(c) for c in COMBINATIONS if c not in combinations]
    if missing:
        raise InvalidOption(
            "settings",
            "lacks %s; all six network_type x encoding_type combinations must be given exactly once"
            % "; ".join(missing),
        )
    return combinations


def from_defaults(defaults, overrides):
    """The ergonomic form: ``defaults`` for every combination, then each override in order.

    An override applies to the combinations its network_type and/or encoding_type match (all of
    them when it names neither) and replaces the code_rate and/or fps it gives.
    """
    base = check_definitions("defaults", defaults or {})
    combinations = dict((c, dict((name, dict(spec)) for name, spec in base.items())) for c in COMBINATIONS)
    for index, override in enumerate(overrides or []):
        where = "overrides[%d]" % index
        given = [name for name in DEFINITIONS if any(v is not None for v in (override.get(name) or {}).values())]
        if not given:
            raise InvalidOption(where, "changes nothing: give at least one of %s" % ", ".join(DEFINITIONS))
        for combination in COMBINATIONS:
            if override.get("network_type") not in (None, combination[0]):
                continue
            if override.get("encoding_type") not in (None, combination[1]):
                continue
            for name in given:
                changes = dict((k, v) for k, v in override[name].items() if v is not None)
                combinations[combination][name].update(changes)
        for name in given:
            # Check the values the override brings in, naming the override rather than a combination.
            sample = next(c for c in COMBINATIONS if _matches(override, c))
            check_spec("%s.%s" % (where, name), combinations[sample][name])
    return combinations


def _matches(override, combination):
    return override.get("network_type") in (None, combination[0]) and override.get("encoding_type") in (
        None,
        combination[1],
    )


def expand(params):
    """The six combinations the options describe, validated; raises InvalidOption naming the field."""
    if params.get("settings") is not None:
        return from_settings(params["settings"])
    return from_defaults(params.get("defaults"), params.get("overrides"))


# ---------------------------------------------------------------- shapes


def as_list(combinations):
    """The module's view: one dict per combination, in the API's order."""
    return [
        dict(network_type=c[0], encoding_type=c[1], **dict((n, dict(combinations[c][n])) for n in DEFINITIONS))
        for c in COMBINATIONS
    ]


def api_settings(combinations):
    """``instance_settings`` for the request: one spec group per combination."""
    return [
        {
            "network_type": c[0],
            "encoding_type": c[1],
            "video_spec_groups": [dict((API_DEFINITION[n], dict(combinations[c][n])) for n in DEFINITIONS)],
        }
        for c in COMBINATIONS
    ]


def fingerprint(combinations):
    """A stable hash of the six combinations: the same settings in any form give the same fingerprint."""
    canonical = json.dumps(as_list(combinations), sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def summary(settings_list):
    """{"WIFI/H264": "540p 2000 kbit/s 30 fps, 720p ..., 1080p ..."}: a readable line per combination."""
    lines = {}
    for entry in settings_list:
        specs = ", ".join(
            "%s %s kbit/s %s fps" % (n.split("_")[1], entry[n]["code_rate"], entry[n]["fps"]) for n in DEFINITIONS
        )
        lines["%s/%s" % (entry["network_type"], entry["encoding_type"])] = specs
    return lines


# ---------------------------------------------------------------- the record of applied settings


def default_record_file():
    return default_path("video-settings.json")


class Record:
    """The settings this module last applied to each instance, in a JSON file (0600).

    Keys are ``<endpoint> <instance_id>``, so an emulator and the real service never share entries.
    The file is a koophone.cloud record (see _records.py): a path naming any other file, or a special
    file, is refused and never written over. Reads and writes hold an exclusive lock on
    ``<file>.lock``, as several plays may update the record at once. A record that cannot be read
    counts as empty (every instance is sent the settings) and is reported; one that cannot be
    written is reported too: what was applied stays applied, at worst the next run sends it again.
    """

    def __init__(self, path, endpoint):
        self.disabled = path in ("", "none", "off")
        self.default = not path
        self.file = JsonRecord(path or default_record_file(), RECORD_KIND, legacy=_legacy_record)
        self.path = self.file.path
        self.endpoint = endpoint.rstrip("/")
        self.warnings = []

    def key(self, instance_id):
        return "%s %s" % (self.endpoint, instance_id)

    def lookup(self, ids):
        """{instance_id: (fingerprint, settings list or None)} for the instances the record knows."""
        if self.disabled:
            return {}
        # No lock to read: saves replace the file atomically, so a reader sees a whole record, old or new.
        # Reading this way also leaves the disk untouched, as check mode promises.
        data = self._load()
        found = {}
        for instance_id in ids:
            entry = data["instances"].get(self.key(instance_id))
            if isinstance(entry, dict) and entry.get("fingerprint"):
                found[instance_id] = (entry["fingerprint"], data["settings"].get(entry["fingerprint"]))
        return found

    def store(self, ids, print_, settings_list):
        if self.disabled or not ids:
            return
        try:
            if self.default:
                # Our own directory under the user's cache; a path the user gives must exist.
                os.makedirs(os.path.dirname(self.path), 0o700, exist_ok=True)
            with self.file.locked():
                data = self._read()
                applied_at = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
                for instance_id in ids:
                    data["instances"][self.key(instance_id)] = {"fingerprint": print_, "applied_at": applied_at}
                data["settings"][print_] = settings_list
                used = set(entry.get("fingerprint") for entry in data["instances"].values() if isinstance(entry, dict))
                data["settings"] = dict((k, v) for k, v in data["settings"].items() if k in used)
                self.file.save(data)
        except (OSError, RecordError) as error:
            self.warnings.append(
                "The settings were applied, but the video settings record was not updated (%s); the next run will "
                "send them again" % error
            )

    def _load(self):
        try:
            return self._read()
        except RecordError as error:
            self.warnings.append(
                "The video settings record was not used (%s): every instance is sent the settings" % error
            )
            return {"instances": {}, "settings": {}}

    def _read(self):
        data = self.file.load() or {}
        instances, settings = data.get("instances"), data.get("settings")
        if not isinstance(instances, dict) or not isinstance(settings, dict):
            if data:
                raise RecordError("%s does not have the shape of a video settings record" % self.path)
            instances, settings = {}, {}
        return dict(data, version=RECORD_VERSION, instances=instances, settings=settings)


def _legacy_record(data):
    """A record written by 0.1.0, before records carried the koophone.cloud marker."""
    return data.get("version") == RECORD_VERSION and isinstance(data.get("instances"), dict)

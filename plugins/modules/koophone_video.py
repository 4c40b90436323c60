#!/usr/bin/python
# Copyright: (c) 2026, koophone.cloud contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

DOCUMENTATION = r"""
module: koophone_video
short_description: Set the video stream settings of KooPhone cloud phones
version_added: 0.1.0
description:
  - Sets, per network type and codec, the bit rate and frame rate a cloud phone streams at 540p, 720p and 1080p
    (C(PUT /v1/instances/video-setting), one request per 100 instances, concurrently).
  - The service needs all six combinations of network type (V(WIFI), V(MOBILE_NETWORK), V(WIRED)) and codec (V(H264),
    V(H265)) in every request. Give them either in the raw form O(settings) (each combination exactly once), or in
    the shorter form O(defaults) plus O(overrides), which the module expands into the six combinations.
  - Everything is validated before any request is sent, and an error names the field at fault.
  - B(How changed is decided.) The API cannot read video settings back. The module therefore keeps a record of the
    settings it last applied to each instance, in O(record_file) on the machine the module runs on (a fingerprint
    per instance). An instance whose recorded fingerprint equals the requested settings is left alone and reported
    unchanged; the others are sent the settings and reported changed. So the second run of a role reports
    C(changed=false) and sends nothing.
  - The record only knows what this module applied from this machine. It cannot see settings changed elsewhere (the
    console, another controller with its own record) or wiped by a reset (M(koophone.cloud.koophone_instance) with
    C(state=reset) restores the image's settings). After such a change run with O(force=true), which sends the
    settings to every instance, or delete the record. Without a record (O(record_file=none)), every run sends the
    settings and reports a change.
author:
  - koophone.cloud maintainers (@koophone)
options:
  instance_ids:
    description:
      - The instances to configure, each at most 32 characters. Any number; sent 100 instances per request.
    type: list
    elements: str
    required: true
  settings:
    description:
      - The raw form, as the API takes it; one entry per combination of O(settings[].network_type) and
        O(settings[].encoding_type). All six combinations must be given, each exactly once.
      - Mutually exclusive with O(defaults) and O(overrides).
    type: list
    elements: dict
    suboptions:
      network_type:
        description: The network the end user streams over.
        type: str
        required: true
        choices: [WIFI, MOBILE_NETWORK, WIRED]
      encoding_type:
        description: The video codec.
        type: str
        required: true
        choices: [H264, H265]
      definition_540p:
        description:
          - Bit rate and frame rate at 540p. Required.
          - The API's spelling C(definition_540P) is accepted as an alias.
        type: dict
        aliases: [definition_540P]
        suboptions: &spec
          code_rate:
            description: Bit rate in kbit/s, 100 to 10,000 in steps of 100. Required.
            type: int
          fps:
            description: Frame rate. Required.
            type: int
            choices: [30, 60]
      definition_720p:
        description:
          - Bit rate and frame rate at 720p. Required.
          - The API's spelling C(definition_720P) is accepted as an alias.
        type: dict
        aliases: [definition_720P]
        suboptions: *spec
      definition_1080p:
        description:
          - Bit rate and frame rate at 1080p. Required.
          - The API's spelling C(definition_1080P) is accepted as an alias.
        type: dict
        aliases: [definition_1080P]
        suboptions: *spec
  defaults:
    description:
      - The shorter form. The bit rates and frame rates every combination gets, before O(overrides).
      - All three definitions, each with both O(defaults.definition_540p.code_rate) and O(defaults.definition_540p.fps),
        are required.
      - Mutually exclusive with O(settings).
    type: dict
    suboptions:
      definition_540p:
        description: Bit rate and frame rate at 540p. Required.
        type: dict
        suboptions: *spec
      definition_720p:
        description: Bit rate and frame rate at 720p. Required.
        type: dict
        suboptions: *spec
      definition_1080p:
        description: Bit rate and frame rate at 1080p. Required.
        type: dict
        suboptions: *spec
  overrides:
    description:
      - With O(defaults), changes for some combinations, applied in order (a later override wins).
      - An override applies to every combination that matches its O(overrides[].network_type) and
        O(overrides[].encoding_type); leave one out to match all networks or all codecs.
      - It replaces only the values it gives, for example just the O(overrides[].definition_1080p.code_rate).
    type: list
    elements: dict
    suboptions:
      network_type:
        description: The network this override applies to; all networks when not given.
        type: str
        choices: [WIFI, MOBILE_NETWORK, WIRED]
      encoding_type:
        description: The codec this override applies to; both codecs when not given.
        type: str
        choices: [H264, H265]
      definition_540p:
        description: New bit rate and/or frame rate at 540p.
        type: dict
        suboptions: &partial
          code_rate:
            description: Bit rate in kbit/s, 100 to 10,000 in steps of 100.
            type: int
          fps:
            description: Frame rate.
            type: int
            choices: [30, 60]
      definition_720p:
        description: New bit rate and/or frame rate at 720p.
        type: dict
        suboptions: *partial
      definition_1080p:
        description: New bit rate and/or frame rate at 1080p.
        type: dict
        suboptions: *partial
  force:
    description:
      - Send the settings to every instance, even those the record says have them already, and report them changed.
      - Use it after the settings may have changed outside this module (a reset, the console, another controller).
    type: bool
    default: false
  record_file:
    description:
      - The file that records which settings this module last applied to each instance (JSON, mode 0600). It holds
        no secret. Several plays may share it; updates are locked.
      - Defaults to C($XDG_CACHE_HOME/koophone.cloud/video-settings.json) or
        C(~/.cache/koophone.cloud/video-settings.json) on the machine the module runs on (that directory is created
        when missing; the directory of a path you give must exist).
      - The file is only ever this module's record. A path naming any other file (one without the record's
        C(koophone.cloud) marker) or a special file such as C(/dev/null) is refused and never written over; the
        settings are still applied, every instance is sent them, and a warning says why the record was not used.
      - Set to V(none) to keep no record; then every run sends the settings and reports a change.
      - If not set, the value of the environment variable E(KOOPHONE_VIDEO_RECORD_FILE) is used.
    type: path
extends_documentation_fragment:
  - koophone.cloud.koophone
  - ansible.builtin.action_common_attributes
  - ansible.builtin.action_common_attributes.actiongroups
attributes:
  check_mode:
    support: full
    details: Reports, from the record, which instances would be sent the settings; sends nothing and leaves the
      record alone.
  diff_mode:
    support: full
    details: The instances that change, with the settings the record has for them before (V(null) when it has none;
      grouped when they differ) and the requested settings after, one line per combination.
  platform:
    platforms: all
  action_group:
    support: full
    membership:
      - koophone.cloud.koophone
notes:
  - The service also accepts up to three spec groups per combination; this module sends one, which is what the
    reference's examples do.
"""

EXAMPLES = r"""
- name: Same settings everywhere, lower bit rates on mobile networks, H.265 at 60 fps in 1080p
  koophone.cloud.koophone_video:
    instance_ids: "{{ ids }}"
    defaults:
      definition_540p: {code_rate: 2000, fps: 30}
      definition_720p: {code_rate: 4000, fps: 30}
      definition_1080p: {code_rate: 8000, fps: 30}
    overrides:
      - network_type: MOBILE_NETWORK
        definition_720p: {code_rate: 2500}
        definition_1080p: {code_rate: 4000}
      - encoding_type: H265
        definition_1080p: {fps: 60}

- name: The raw form (all six combinations, as the API takes them)
  koophone.cloud.koophone_video:
    instance_ids: [5srn5hL8]
    settings:
      - network_type: WIFI
        encoding_type: H264
        definition_540p: {code_rate: 2000, fps: 30}
        definition_720p: {code_rate: 4000, fps: 30}
        definition_1080p: {code_rate: 8000, fps: 60}
      - network_type: WIFI
        encoding_type: H265
        definition_540p: {code_rate: 1500, fps: 30}
        definition_720p: {code_rate: 3000, fps: 30}
        definition_1080p: {code_rate: 6000, fps: 60}
      # ... MOBILE_NETWORK and WIRED with H264 and H265 likewise: six entries in all

- name: Re-apply after the phones were reset
  koophone.cloud.koophone_video:
    instance_ids: "{{ ids }}"
    defaults: "{{ video_defaults }}"
    force: true
"""

RETURN = r"""
settings:
  description: The six combinations that were (or would be) applied, in the API's order, in the raw form.
  returned: always
  type: list
  elements: dict
  contains:
    network_type:
      description: V(WIFI), V(MOBILE_NETWORK) or V(WIRED).
      type: str
    encoding_type:
      description: V(H264) or V(H265).
      type: str
    definition_540p:
      description: C(code_rate) (kbit/s) and C(fps) at 540p.
      type: dict
      sample: {code_rate: 2000, fps: 30}
    definition_720p:
      description: C(code_rate) (kbit/s) and C(fps) at 720p.
      type: dict
    definition_1080p:
      description: C(code_rate) (kbit/s) and C(fps) at 1080p.
      type: dict
fingerprint:
  description: The SHA-256 fingerprint of RV(settings) the record keeps per instance. The same settings give the same
    fingerprint in either form.
  returned: always
  type: str
results:
  description: One entry per instance, in the order of O(instance_ids).
  returned: always
  type: list
  elements: dict
  contains:
    instance_id:
      description: The instance.
      type: str
    changed:
      description: Whether the settings were (in check mode, would be) sent to it.
      type: bool
    failed:
      description: Whether sending failed for it (its whole chunk of up to 100 instances failed).
      type: bool
    msg:
      description: What went wrong, with the operation, HTTP status, error code and x-request-id.
      type: str
      returned: when the instance failed
    error_code:
      description: The service's error code.
      type: str
      returned: when the instance failed
    error_msg:
      description: The service's error message.
      type: str
      returned: when the instance failed
changed_instance_ids:
  description: The instances the settings were (or would be) sent to.
  returned: always
  type: list
  elements: str
unchanged_instance_ids:
  description: The instances the record shows already have these settings; nothing was sent to them.
  returned: always
  type: list
  elements: str
failed_instance_ids:
  description: The instances the settings could not be sent to.
  returned: always
  type: list
  elements: str
"""

from ansible.module_utils.basic import env_fallback

from ansible_collections.koophone.cloud.plugins.module_utils import _validation as validation
from ansible_collections.koophone.cloud.plugins.module_utils import _video as video
from ansible_collections.koophone.cloud.plugins.module_utils._changes import Changes
from ansible_collections.koophone.cloud.plugins.module_utils._errors import InvalidOption
from ansible_collections.koophone.cloud.plugins.module_utils._module import KooPhoneModule, name_failures


def validate(params):
    validation.check_ids("instance_ids", params["instance_ids"])
    if not params["instance_ids"]:
        raise InvalidOption("instance_ids", "must name at least one instance")
    return video.expand(params)


def failure_entry(error):
    return {"msg": str(error), "error_code": error.error_code, "error_msg": error.error_msg}


def run(kp):
    params = kp.params
    combinations = video.expand(params)  # checked already by validate()
    ids = validation.unique(params["instance_ids"])
    settings_list = video.as_list(combinations)
    print_ = video.fingerprint(combinations)
    record = video.Record(params["record_file"], kp.client.endpoint)
    known = record.lookup(ids)
    targets = ids if params["force"] else [i for i in ids if known.get(i, (None,))[0] != print_]
    entries = dict((i, {"instance_id": i, "changed": i in targets, "failed": False}) for i in ids)

    body = video.api_settings(combinations)
    outcome = Changes(kp).apply("SetVideo", targets, lambda chunk: {"instance_ids": chunk, "instance_settings": body})
    for failure in outcome.failures:
        for instance_id in failure.ids:
            entries[instance_id].update(failure_entry(failure.error), failed=True, changed=False)
    if not kp.check_mode:
        record.store(outcome.done, print_, settings_list)

    for warning in record.warnings:
        kp.module.warn(warning)
    results = [entries[i] for i in ids]
    result = {
        "changed": any(e["changed"] for e in results),
        "settings": settings_list,
        "fingerprint": print_,
        "results": results,
        "changed_instance_ids": [e["instance_id"] for e in results if e["changed"]],
        "unchanged_instance_ids": [e["instance_id"] for e in results if not e["changed"] and not e["failed"]],
        "failed_instance_ids": [e["instance_id"] for e in results if e["failed"]],
    }
    if kp.module._diff:
        result["diff"] = diff_of(result["changed_instance_ids"], known, settings_list)
    failed = result["failed_instance_ids"]
    if failed:
        named = name_failures([(i, entries[i]["msg"]) for i in failed])
        kp.fail(
            msg="Setting video failed on %d of %d instance(s): %s" % (len(failed), len(ids), named),
            **result,
        )
    return result


def diff_of(changed_ids, known, settings_list):
    """Before: the recorded settings of the changed instances (one block when they share them); after: the new ones.

    Every changed instance gets the same settings, so the diff shows them once, not once per instance.
    """
    groups = {}
    for instance_id in changed_ids:
        print_, previous = known.get(instance_id, (None, None))
        groups.setdefault(print_, (previous, []))[1].append(instance_id)
    before = {"instance_ids": list(changed_ids), "settings": None}
    if len(groups) == 1:
        previous = list(groups.values())[0][0]
        before["settings"] = video.summary(previous) if previous else None
    elif groups:
        before["recorded"] = [
            {"instance_ids": ids, "settings": video.summary(previous) if previous else None}
            for previous, ids in groups.values()
        ]
    return {"before": before, "after": {"instance_ids": list(changed_ids), "settings": video.summary(settings_list)}}


def spec_options():
    return dict(code_rate=dict(type="int"), fps=dict(type="int", choices=[30, 60]))


def definitions(aliases=False):
    return dict(
        (
            name,
            dict(type="dict", options=spec_options(), **({"aliases": [video.API_DEFINITION[name]]} if aliases else {})),
        )
        for name in video.DEFINITIONS
    )


def argument_spec():
    settings_options = dict(
        network_type=dict(type="str", required=True, choices=list(video.NETWORK_TYPES)),
        encoding_type=dict(type="str", required=True, choices=list(video.ENCODING_TYPES)),
        **definitions(aliases=True),
    )
    override_options = dict(
        network_type=dict(type="str", choices=list(video.NETWORK_TYPES)),
        encoding_type=dict(type="str", choices=list(video.ENCODING_TYPES)),
        **definitions(),
    )
    return dict(
        instance_ids=dict(type="list", elements="str", required=True),
        settings=dict(type="list", elements="dict", options=settings_options),
        defaults=dict(type="dict", options=definitions()),
        overrides=dict(type="list", elements="dict", options=override_options),
        force=dict(type="bool", default=False),
        record_file=dict(type="path", fallback=(env_fallback, ["KOOPHONE_VIDEO_RECORD_FILE"])),
    )


def main():
    kp = KooPhoneModule(
        argument_spec=argument_spec(),
        supports_check_mode=True,
        mutually_exclusive=[("settings", "defaults"), ("settings", "overrides")],
        required_one_of=[("settings", "defaults")],
        required_by={"overrides": "defaults"},
    )
    kp.run(run, validate=validate)


if __name__ == "__main__":
    main()

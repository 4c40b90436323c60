#!/usr/bin/python
# Copyright: (c) 2026, koophone.cloud contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

DOCUMENTATION = r"""
module: koophone_stream_session
short_description: Hand out, stop and release streaming sessions of KooPhone cloud phones
version_added: 0.1.0
description:
  - O(state=authorized) obtains what a streaming client needs to connect to each cloud phone
    (C(POST /v1/instances/{instance_id}/auth)) - the C(device_token), the C(device_id) and the signaling address -
    and returns it in RV(sessions), for the caller to hand to its end users.
  - O(state=stopped) stops the phones' streaming (C(POST /v1/instances/streaming/stop)); a phone that is not streaming
    is not affected.
  - O(state=released) stops the streaming and then releases the session, which otherwise lingers for a while after
    streaming stops (C(POST /v1/instances/session/release)). Release is what follows a stopped stream, so a phone that
    is not streaming any more (the service may refuse to stop it) is still released; the refusal is kept in
    RV(sessions[].stop_error).
  - A device token is issued anew by every C(auth) call, so a request whose answer was lost is never sent again
    (the lost token may be valid, and the caller would never see it); the instance is reported failed.
  - Each instance is one request per operation (the API takes one instance at a time); they run concurrently (see
    O(concurrency)). A failure on one instance is reported in RV(sessions) and fails the task naming it, while the
    other instances' results stand.
  - "B(The device_token is a credential.) Whenever the result holds a device token, the module's action plugin marks
    the whole result as C(no_log): Ansible replaces it in its output and its log (C(log_path), callbacks, any C(-v)
    verbosity) with a censored notice, while C(register) still receives every field. Put C(no_log: true) on the task
    as well, so that a failure message is hidden too, and do not print the registered variable with
    M(ansible.builtin.debug)."
  - These are actions, not states the API can read back, so they always report a change (in check mode, nothing is
    sent and a change is reported).
author:
  - koophone.cloud maintainers (@koophone)
options:
  instance_ids:
    description:
      - The instances, each at most 32 characters.
      - For O(state=authorized) they must be running; the service refuses a token for a phone that is not
        (C(KOOPHONE.API.62010)).
    type: list
    elements: str
    required: true
  state:
    description:
      - V(authorized) returns a device token and signaling information per instance.
      - V(stopped) stops streaming.
      - V(released) stops streaming and releases the session.
    type: str
    choices: [authorized, stopped, released]
    default: authorized
extends_documentation_fragment:
  - koophone.cloud.koophone
  - ansible.builtin.action_common_attributes
  - ansible.builtin.action_common_attributes.actiongroups
  - ansible.builtin.action_common_attributes.flow
attributes:
  action:
    support: full
    details: The action plugin runs the module and censors a result that holds device tokens.
  async:
    support: none
  bypass_host_loop:
    support: none
  check_mode:
    support: full
    details: Sends nothing and reports a change; returns no token.
  diff_mode:
    support: none
  platform:
    platforms: all
  action_group:
    support: full
    membership:
      - koophone.cloud.koophone
notes:
  - Obtaining a token is safe to repeat (a lost answer is retried; each answer is a new token); stopping and releasing
    are no-ops on a phone that is not streaming.
"""

EXAMPLES = r"""
- name: Get streaming credentials for two phones (never logged)
  koophone.cloud.koophone_stream_session:
    instance_ids: [5srn5hL8, a44uhlf7]
  register: streaming
  no_log: true

- name: Hand the first session to the end user's client (the task is no_log too)
  ansible.builtin.copy:
    dest: /srv/streaming/5srn5hL8.json
    content: "{{ streaming.sessions[0] | to_json }}"
    mode: "0600"
  no_log: true

- name: End the streaming and release the sessions
  koophone.cloud.koophone_stream_session:
    instance_ids: [5srn5hL8, a44uhlf7]
    state: released
"""

RETURN = r"""
sessions:
  description:
    - One entry per instance, in the order of O(instance_ids).
    - Deliberately not called C(results). ansible-core 2.19 treats a module's C(results) list as loop results and
      prints its entries even under C(no_log), which would reveal the tokens.
  returned: always
  type: list
  elements: dict
  contains:
    instance_id:
      description: The instance.
      type: str
      sample: 5srn5hL8
    failed:
      description: Whether the request failed for this instance.
      type: bool
    device_token:
      description:
        - The device authentication token the streaming client presents to the signaling service.
        - A secret. Use C(no_log) on the task, see the module description.
      type: str
      returned: with O(state=authorized), on success
    device_id:
      description: The device id the streaming client presents with the token.
      type: str
      returned: with O(state=authorized), on success
    streaming_id:
      description: The streaming id (C(streamingId)).
      type: str
      returned: with O(state=authorized), when the service gives one
    signaling_url:
      description: The signaling service address (C(resource.rtc.ice_signaling.signaling_url)).
      type: str
      returned: with O(state=authorized), on success
      sample: http://100.93.2.248:18082
    ice_servers:
      description: The ICE servers (C(resource.rtc.ice_signaling.ice_servers)).
      type: list
      elements: str
      returned: with O(state=authorized), on success
    expired_time:
      description: The streaming duration in seconds (C(resource.rtc.ice_signaling.expired_time)), as the service
        gives it.
      type: str
      returned: with O(state=authorized), on success
    resource:
      description: The whole C(resource) object of the answer (C(sdk) internal and external addresses and audio ports,
        C(rtc), C(device_id), C(kp_id), ...), as the service returns it.
      type: dict
      returned: with O(state=authorized), on success
    stop_error:
      description: With O(state=released), why stopping the stream was refused (usually, nothing was streaming); the
        session was released all the same.
      type: str
      returned: with O(state=released), when stopping was refused
    msg:
      description: What went wrong, with the operation, HTTP status, error code and x-request-id.
      type: str
      returned: when the instance failed
    error_code:
      description: The service's error code, for example V(KOOPHONE.API.62010) for a phone that is not running.
      type: str
      returned: when the instance failed
    error_msg:
      description: The service's error message.
      type: str
      returned: when the instance failed
failed_instance_ids:
  description: The instances where the request failed.
  returned: always
  type: list
  elements: str
"""

from ansible_collections.koophone.cloud.plugins.module_utils import _validation as validation
from ansible_collections.koophone.cloud.plugins.module_utils._client import payload
from ansible_collections.koophone.cloud.plugins.module_utils._errors import (
    InvalidOption,
    KooPhoneAuthError,
    KooPhoneError,
    KooPhonePermissionError,
)
from ansible_collections.koophone.cloud.plugins.module_utils._module import KooPhoneModule, name_failures


def validate(params):
    validation.check_ids("instance_ids", params["instance_ids"])
    if not params["instance_ids"]:
        raise InvalidOption("instance_ids", "must name at least one instance")


def session_of(instance_id, answer):
    """The fields a streaming client needs, from the auth answer."""
    data = payload(answer, "device_token")
    resource = data.get("resource") if isinstance(data.get("resource"), dict) else {}
    rtc = resource.get("rtc") if isinstance(resource.get("rtc"), dict) else {}
    signaling = rtc.get("ice_signaling") if isinstance(rtc.get("ice_signaling"), dict) else {}
    entry = {
        "instance_id": instance_id,
        "failed": False,
        "device_token": data.get("device_token"),
        "device_id": resource.get("device_id"),
        "signaling_url": signaling.get("signaling_url"),
        "ice_servers": signaling.get("ice_servers") or [],
        "expired_time": signaling.get("expired_time"),
        "resource": resource,
    }
    streaming_id = data.get("streamingId", data.get("streaming_id"))
    if streaming_id is not None:
        entry["streaming_id"] = streaming_id
    return entry


def authorize(client, instance_id):
    answer = client.call("ExecuteInstanceAuthToken", path_params={"instance_id": instance_id})
    return session_of(instance_id, answer)


def stop(client, instance_id):
    client.call("StopInstancesStreaming", body={"instance_id": instance_id})
    return {"instance_id": instance_id, "failed": False}


def release(client, instance_id):
    """Stop streaming, then release the session. Release exists for phones that stopped streaming
    already, so a refused stop (nothing is streaming) does not stop the release; it is reported."""
    entry = {"instance_id": instance_id, "failed": False}
    try:
        stop(client, instance_id)
    except KooPhoneError as error:
        if error.maybe_applied or isinstance(error, (KooPhoneAuthError, KooPhonePermissionError)):
            raise
        entry["stop_error"] = str(error)
    client.call("StopInstancesSession", body={"instance_id": instance_id})
    return entry


ACTIONS = {"authorized": authorize, "stopped": stop, "released": release}
VERBS = {"authorized": "Obtaining a device token", "stopped": "Stopping streaming", "released": "Releasing the session"}


def run(kp):
    params = kp.params
    ids = validation.unique(params["instance_ids"])
    if kp.check_mode:
        sessions = [{"instance_id": i, "failed": False} for i in ids]
        return {"changed": True, "sessions": sessions, "failed_instance_ids": []}
    action = ACTIONS[params["state"]]
    outcomes = kp.client.map_concurrently(lambda instance_id: action(kp.client, instance_id), ids)
    sessions = []
    for instance_id, (entry, error) in zip(ids, outcomes):
        if error is None:
            sessions.append(entry)
        else:
            sessions.append(
                {
                    "instance_id": instance_id,
                    "failed": True,
                    "msg": str(error),
                    "error_code": error.error_code,
                    "error_msg": error.error_msg,
                }
            )
    failed = [e for e in sessions if e["failed"]]
    result = {
        # Not "results": ansible-core treats that key as loop results and shows it under no_log (see RETURN).
        "changed": len(failed) < len(sessions),
        "sessions": sessions,
        "failed_instance_ids": [e["instance_id"] for e in failed],
    }
    if failed:
        named = name_failures([(e["instance_id"], e["msg"]) for e in failed])
        kp.fail(
            msg="%s failed on %d of %d instance(s): %s" % (VERBS[params["state"]], len(failed), len(sessions), named),
            **result,
        )
    return result


def main():
    kp = KooPhoneModule(
        argument_spec=dict(
            instance_ids=dict(type="list", elements="str", required=True),
            state=dict(type="str", default="authorized", choices=["authorized", "stopped", "released"]),
        ),
        supports_check_mode=True,
    )
    kp.run(run, validate=validate)


if __name__ == "__main__":
    main()

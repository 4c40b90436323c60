# Copyright: (c) 2026, koophone.cloud contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# Private to the koophone.cloud collection (shared layer; see docs/development.md): not a public API,
# it may change in any release. Do not import it from other collections or standalone plugins.
"""The common options of every koophone.cloud module and of the inventory plugin, declared once.

``OPTIONS`` is the one table: each option's type, default, no_log, environment variables,
description and range. Everything else is derived from it:

- ``argument_spec()``: what AnsibleModule wants (KooPhoneModule adds it to each module's own);
- ``doc_fragment("modules")`` / ``doc_fragment("plugins")``: the YAML of the doc fragment
  ``koophone.cloud.koophone`` (plugins/doc_fragments/koophone.py); the plugins variant carries
  ``env:`` entries, so the inventory plugin honours the same KOOPHONE_* variables. The fragment
  holds the text as static strings (ansible-test's yamllint reads doc fragments without importing
  them, and refuses anything but a string literal); a unit test (test_options.py) fails when they
  differ from what doc_fragment renders;
- ``DEFAULTS``: the defaults the shared client falls back to when an option is not given;
- ``LIMITS`` and ``check_tuning(params)``: the ranges of the tuning options, checked before any request.

Modules import it on the target and the inventory plugin on the controller: standard library
and ansible.module_utils only.
"""

import json

from ansible.module_utils.basic import env_fallback

from ansible_collections.koophone.cloud.plugins.module_utils._errors import InvalidOption

# One entry per option, in documentation order. Keys: name, type, description (lines, without the
# environment sentence: doc_fragment adds it), env (names, first one preferred), and where they
# apply default, no_log (True for secrets) and limits ((low, high), inclusive; the description states them).
# ``plugins`` holds what differs for the inventory plugin (the plugins variant): its default and
# description lines added after the common ones.
OPTIONS = (
    dict(
        name="endpoint",
        type="str",
        default="https://koophone.myhuaweicloud.com",
        env=("KOOPHONE_ENDPOINT",),
        description=(
            "Base URL of the KooPhone API: C(http://) or C(https://) and a host, checked before any request.",
            "A trailing C(/v1), as the API Explorer writes it, is accepted and removed (the operation paths carry it).",
            "Use C(http://127.0.0.1:PORT) for the bundled emulator.",
        ),
    ),
    dict(
        name="auth_token",
        type="str",
        no_log=True,
        env=("KOOPHONE_AUTH_TOKEN",),
        description=(
            "A project-scoped IAM token sent as C(X-Auth-Token).",
            "Takes precedence over AK/SK signing and IAM password login.",
        ),
    ),
    dict(
        name="access_key",
        type="str",
        # An access key id identifies, it does not authenticate; masking it would only mangle output.
        no_log=False,
        env=("KOOPHONE_ACCESS_KEY", "HUAWEICLOUD_SDK_AK"),
        description=(
            "Access key id for AK/SK request signing (C(SDK-HMAC-SHA256)).",
            "Requires O(secret_key). Used when O(auth_token) is not set.",
        ),
    ),
    dict(
        name="secret_key",
        type="str",
        no_log=True,
        env=("KOOPHONE_SECRET_KEY", "HUAWEICLOUD_SDK_SK"),
        description=(
            "Secret access key for AK/SK request signing. Never logged.",
            "A signature the service refuses is never retried: the gateway locks an access key after repeated"
            " failures.",
        ),
    ),
    dict(
        name="security_token",
        type="str",
        no_log=True,
        env=("KOOPHONE_SECURITY_TOKEN", "HUAWEICLOUD_SDK_SECURITY_TOKEN"),
        description=("Security token of temporary AK/SK credentials, sent as C(X-Security-Token).",),
    ),
    dict(
        name="project_id",
        type="str",
        env=("KOOPHONE_PROJECT_ID", "HUAWEICLOUD_SDK_PROJECT_ID"),
        description=(
            "Project id. Optional with AK/SK signing: sent as C(X-Project-Id) only when given.",
            "With IAM password login, scopes the token to this project (instead of O(project_name)).",
        ),
    ),
    dict(
        name="username",
        type="str",
        env=("KOOPHONE_USERNAME",),
        description=("IAM user name for password login, used when neither O(auth_token) nor AK/SK is set.",),
    ),
    dict(
        name="password",
        type="str",
        no_log=True,
        env=("KOOPHONE_PASSWORD",),
        description=("IAM user password for password login. Never logged and never written to the token cache.",),
    ),
    dict(
        name="domain_name",
        type="str",
        env=("KOOPHONE_DOMAIN_NAME",),
        description=("IAM account (domain) name the user belongs to, for password login.",),
    ),
    dict(
        name="project_name",
        type="str",
        env=("KOOPHONE_PROJECT_NAME",),
        description=("Project name (for example V(cn-north-4)) the IAM token is scoped to.",),
    ),
    dict(
        name="iam_endpoint",
        type="str",
        default="https://iam.myhuaweicloud.com",
        env=("KOOPHONE_IAM_ENDPOINT",),
        description=("Base URL of IAM for password login (C(POST /v3/auth/tokens)).",),
    ),
    dict(
        name="token_cache_dir",
        type="path",
        env=("KOOPHONE_TOKEN_CACHE_DIR",),
        description=(
            "Directory where IAM tokens from password login are cached (files mode 0600), so every task of a play"
            " reuses one login.",
            "Defaults to C($XDG_CACHE_HOME/koophone.cloud/tokens) or C(~/.cache/koophone.cloud/tokens).",
            "Set to V(none) to disable the cache. Only the token and its expiry are stored, never the password.",
            "A cached token is renewed 40 minutes before it expires (or at 90% of its lifetime when that is shorter).",
        ),
    ),
    dict(
        name="validate_certs",
        type="bool",
        default=True,
        env=("KOOPHONE_VALIDATE_CERTS",),
        description=("Whether to verify the TLS certificate of O(endpoint) and O(iam_endpoint).",),
    ),
    dict(
        name="ca_path",
        type="path",
        env=("KOOPHONE_CA_PATH",),
        description=("A CA bundle to verify the endpoints' certificates with, instead of the system store.",),
    ),
    dict(
        name="timeout",
        type="int",
        default=30,
        limits=(1, 600),
        env=("KOOPHONE_TIMEOUT",),
        description=("Seconds to wait for one HTTP response (1 to 600).",),
    ),
    dict(
        name="retries",
        type="int",
        default=6,
        limits=(0, 20),
        env=("KOOPHONE_RETRIES",),
        description=(
            "How many times a failed request is retried (0 to 20), with exponential backoff, full jitter and"
            " C(Retry-After) honoured.",
            "Throttling (HTTP 429) and connection failures before the request was sent are always retried.",
            "Server errors (5xx) and broken connections are retried only for operations that are safe to repeat;",
            "a request that is not safe to repeat (create, commands, app install, reset, reboot, backup, assign) is"
            " never sent twice.",
            "One call never spends more than 300 seconds retrying.",
        ),
    ),
    dict(
        name="concurrency",
        type="int",
        default=8,
        limits=(1, 64),
        env=("KOOPHONE_CONCURRENCY",),
        description=(
            "How many requests run at once when a list of ids is split into chunks or a listing into pages (1 to 64).",
        ),
        # A listing is read-only and one short burst per inventory run: 10,000 phones are page 1 and
        # then 7 rounds of 16 pages instead of 14 rounds of 8 (docs/inventory.md, Performance).
        plugins=dict(
            default=16,
            description=(
                "The inventory plugin reads its pages 16 at a time by default, where the modules' default is 8: a"
                " listing is read-only and one short burst per inventory run. The pages of 10,000 phones at 100 a page"
                " then take 8 round trips (at most 16 requests in flight, about 320 requests a second at 50 ms per"
                " round trip, for as long as the 100 requests last). Throttling (HTTP 429) is retried after"
                " C(Retry-After); lower this where the service's rate limits call for it.",
            ),
        ),
    ),
)

# Only in the modules variant: the inventory plugin has notes and requirements of its own.
MODULE_NOTES = (
    "Credentials are chosen in this order: O(auth_token), then AK/SK signing (O(access_key) and O(secret_key),"
    " with O(project_id) when given), then IAM password login (O(username), O(password), O(domain_name),"
    " O(project_name) or O(project_id)).",
    "Every request carries a fresh C(x-request-id); error messages include it, with the operation, HTTP status,"
    " C(error_code) and C(error_msg).",
    "Instance and user ids are checked before any request: at most 32 characters, and no whitespace, control"
    " characters, C(/), C(?), C(#), C(%) or backslash (an id travels in URL paths), nor only dots.",
)
MODULE_REQUIREMENTS = ("requests",)

NAMES = tuple(option["name"] for option in OPTIONS)
# What the shared client falls back to for an option that is not given (None or absent).
DEFAULTS = dict((option["name"], option["default"]) for option in OPTIONS if "default" in option)
# The inventory plugin's defaults, where they differ (its configuration passes them to the client).
PLUGIN_DEFAULTS = dict(
    (option["name"], option["plugins"]["default"]) for option in OPTIONS if "default" in option.get("plugins", {})
)
# Ranges of the tuning options, inclusive.
LIMITS = dict((option["name"], option["limits"]) for option in OPTIONS if "limits" in option)

VARIANTS = ("modules", "plugins")


def argument_spec():
    """The common options as an AnsibleModule argument spec (a new dict on every call)."""
    spec = {}
    for option in OPTIONS:
        entry = dict(type=option["type"], no_log=option.get("no_log", False))
        entry["fallback"] = (env_fallback, list(option["env"]))
        if "default" in option:
            entry["default"] = option["default"]
        spec[option["name"]] = entry
    return spec


def check_tuning(params):
    """Raise InvalidOption when timeout, retries or concurrency is out of its range (None is fine)."""
    for name, (low, high) in LIMITS.items():
        value = params.get(name)
        if value is not None and not low <= value <= high:
            raise InvalidOption(name, "is %s; it must be between %s and %s" % (value, low, high))


def env_sentence(names):
    """The modules variant's last description line: which environment variables are read."""
    return "If not set, the value of the environment variable %s is used." % " or ".join(
        "E(%s)" % name for name in names
    )


# The width of the YAML lines doc_fragment renders (ansible-test's pep8 allows 160).
WIDTH = 120


def _scalar(value):
    # JSON scalars are YAML scalars: strings double-quoted (with JSON's escapes), true/false, numbers.
    return json.dumps(value)


def _item(indent, text):
    """A YAML list item holding ``text`` double-quoted, as lines wrapped at WIDTH where a space allows.

    Inside double quotes YAML folds a line break, with the spaces around it, into one space. So a
    break goes only where one space stands between two other characters, and the value is unchanged.
    """
    words = _scalar(text).split(" ")
    lines = [indent + "- " + words[0]]
    for word in words[1:]:
        if word and not lines[-1].endswith(" ") and len(lines[-1]) + 1 + len(word) > WIDTH:
            lines.append(indent + "  " + word)
        else:
            lines[-1] += " " + word
    return lines


def doc_fragment(variant):
    """The YAML of the doc fragment's ``DOCUMENTATION`` (``"modules"``) or ``PLUGINS`` (``"plugins"``) variant.

    Both document every option with the same description, type and default, but for what an
    option's ``plugins`` entry changes in the plugins variant. The modules variant
    ends each description with the environment sentence (modules read the variables through
    their argument spec) and adds the common notes and requirements; the plugins variant lists the
    variables as ``env:`` entries, which the plugin's configuration reads.
    """
    if variant not in VARIANTS:
        raise ValueError("variant must be one of %s, got %r" % (", ".join(VARIANTS), variant))
    lines = ["options:"]
    for option in OPTIONS:
        own = option.get("plugins", {}) if variant == "plugins" else {}
        description = list(option["description"]) + list(own.get("description", ()))
        if variant == "modules":
            description.append(env_sentence(option["env"]))
        lines.append("  %s:" % option["name"])
        lines.append("    description:")
        for line in description:
            lines.extend(_item("      ", line))
        lines.append("    type: %s" % option["type"])
        default = own.get("default", option.get("default"))
        if default is not None:
            lines.append("    default: %s" % _scalar(default))
        if variant == "plugins":
            lines.append("    env:")
            lines.extend("      - name: %s" % name for name in option["env"])
    if variant == "modules":
        lines.append("notes:")
        for note in MODULE_NOTES:
            lines.extend(_item("  ", note))
        lines.append("requirements:")
        lines.extend("  - %s" % requirement for requirement in MODULE_REQUIREMENTS)
    # Starting with a newline, the text is exactly what a DOCUMENTATION = r"""...""" block holds.
    return "\n" + "\n".join(lines) + "\n"

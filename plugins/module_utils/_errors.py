# Copyright: (c) 2026, koophone.cloud contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# Private to the koophone.cloud collection (shared layer; see docs/development.md): not a public API,
# it may change in any release. Do not import it from other collections or standalone plugins.
"""Exceptions raised by the shared KooPhone client.

One exception type carries everything a user needs to act on a failed call: the operation,
the HTTP status, the service's error_code and error_msg, and the x-request-id that support
can trace. Modules turn it into ``fail_json`` through ``KooPhoneModule``.
"""


class KooPhoneError(Exception):
    """A KooPhone API call failed.

    ``maybe_applied`` is true when the request may have reached the service before the
    connection broke (a lost response): the caller must re-read state before acting again.
    """

    def __init__(
        self,
        message,
        operation=None,
        status=None,
        error_code=None,
        error_msg=None,
        request_id=None,
        maybe_applied=False,
    ):
        # The service's words may come in any JSON type; the messages built from them are text.
        message = _text(message)
        super().__init__(message)
        self.message = message
        self.operation = operation
        self.status = status
        self.error_code = None if error_code is None else _text(error_code)
        self.error_msg = None if error_msg is None else _text(error_msg)
        self.request_id = request_id
        self.maybe_applied = maybe_applied

    def to_dict(self):
        return {
            "operation": self.operation,
            "status": self.status,
            "error_code": self.error_code,
            "error_msg": self.error_msg,
            "request_id": self.request_id,
            "maybe_applied": self.maybe_applied,
        }

    def __str__(self):
        return self.describe()

    def describe(self, request_id=True, operation=True):
        """The message with what support needs: operation, HTTP status, error_code, error_msg, x-request-id.

        Without the request id (and operation), one cause reads the same for every chunk it hit, so a
        message can group the instances by it.
        """
        details = []
        if operation and self.operation:
            details.append("operation=%s" % self.operation)
        if self.status is not None:
            details.append("http_status=%s" % self.status)
        if self.error_code:
            details.append("error_code=%s" % self.error_code)
        if self.error_msg and self.error_msg not in self.message:
            details.append("error_msg=%s" % self.error_msg)
        if request_id and self.request_id:
            details.append("x-request-id=%s" % self.request_id)
        return "%s (%s)" % (self.message, ", ".join(details)) if details else self.message


def _text(value):
    return value if isinstance(value, str) else "%s" % (value,)


class KooPhoneAuthError(KooPhoneError):
    """Credentials are missing, wrong or were refused."""


class KooPhonePermissionError(KooPhoneError):
    """Valid credentials, but the service refused the instances or the tenant (KOOPHONE.API.1001/1003).

    A new login cures nothing here, so none is tried, and the request is not sent again as it was.
    """


class InvalidOption(ValueError):
    """An option value breaks a limit of the API; raised before any request is sent."""

    def __init__(self, option, message):
        super().__init__("%s: %s" % (option, message))
        self.option = option


# -------------------------------------------------------------------- the service's error codes

# What a service error means for the client, by error_code, in one place. The reference's §6.2
# sends KOOPHONE.API.1001 and 1003 with HTTP 401 like an expired token (6001): the status alone
# cannot tell "log in again" from "you may not touch this", the code can.
TOKEN_INVALID = "token_invalid"  # noqa: S105 -- a kind, not a secret; an expired or invalid token: one new IAM login, then the request again
PERMISSION = "permission"  # not this tenant's instance, or the tenant is not whitelisted: report, no re-login
UNKNOWN_TASK = "unknown_task"  # tasks/{task_id} does not know the task

ERROR_CODES = {
    "KOOPHONE.API.6001": (TOKEN_INVALID, "the token has expired"),
    "APIGW.0301": (TOKEN_INVALID, "the gateway did not accept the credentials"),
    "APIGW.0307": (TOKEN_INVALID, "the token must be renewed"),
    "KOOPHONE.API.1001": (PERMISSION, "no permission for the instance: not in this tenant, or a wrong id"),
    "KOOPHONE.API.1003": (PERMISSION, "the tenant may not use the KooPhone API: ask Huawei to whitelist it"),
    "KOOPHONE.API.6002": (PERMISSION, "no permission (the token is not scoped to a project, or lacks the policy)"),
    "KOOPHONE.API.1323": (UNKNOWN_TASK, "the service does not know this task"),
}
PREFIXES = ("KOOPHONE.API.", "KPAPI.")


def normal_code(code):
    """'KooPhone.API.1001', ' koophone.api.1001 ' and '1001' -> 'KOOPHONE.API.1001'; others upper-cased."""
    text = ("%s" % (code if code is not None else "")).strip().upper().replace(" ", "")
    return "KOOPHONE.API." + text if text.isdigit() else text


def code_number(code):
    """'KOOPHONE.API.62017' -> '62017', 'KPAPI.2209' -> '2209'; other codes as they are."""
    text = normal_code(code)
    for prefix in PREFIXES:
        if text.startswith(prefix):
            return text[len(prefix) :]
    return text


def error_kind(code):
    return ERROR_CODES.get(normal_code(code), (None, None))[0]


def is_code(error, number):
    """Whether ``error`` (a KooPhoneError or a code) carries the service code ``number`` ('1323')."""
    code = error.error_code if isinstance(error, KooPhoneError) else error
    return code not in (None, "") and code_number(code) == number

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
        super().__init__(message)
        self.message = message
        self.operation = operation
        self.status = status
        self.error_code = error_code
        self.error_msg = error_msg
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
        parts = [self.message]
        details = []
        if self.operation:
            details.append("operation=%s" % self.operation)
        if self.status is not None:
            details.append("http_status=%s" % self.status)
        if self.error_code:
            details.append("error_code=%s" % self.error_code)
        if self.error_msg and self.error_msg not in self.message:
            details.append("error_msg=%s" % self.error_msg)
        if self.request_id:
            details.append("x-request-id=%s" % self.request_id)
        if details:
            parts.append("(%s)" % ", ".join(details))
        return " ".join(parts)


class KooPhoneAuthError(KooPhoneError):
    """Credentials are missing, wrong or were refused."""


class InvalidOption(ValueError):
    """An option value breaks a limit of the API; raised before any request is sent."""

    def __init__(self, option, message):
        super().__init__("%s: %s" % (option, message))
        self.option = option

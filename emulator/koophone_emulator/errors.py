"""KooPhone error codes: the message and HTTP status each one is answered with.

Messages are the reference's §6.2 texts. HTTP statuses follow §6.2 where it lists the code and
the chapter-4 tables otherwise (1323, 2210, 5002, 5004, 5005, 62005, KPAPI.2209). §6.2 files
KOOPHONE.API.1001 ("no instance permission") and 1003 (tenant not whitelisted) under 401, while
the chapter-4 tables list 1001 under 400/500 (API-EXPLORER-DIFF contradiction 13). The strict
reading is §6.2's 401, the trap for a client that renews its token on any 401 and retries; the
``permission_status`` setting picks the status actually sent (operations pass it as ``status``).
What a client must rely on is that any error_code other than "0" is a failure.
"""

PREFIX = "KOOPHONE.API."

CODES = {
    "0000": (200, "tenant is not exist."),
    "0002": (200, "missing request header 'x-request-id'."),
    "0003": (400, "invalid request header 'x-request-id'."),
    "0004": (200, "project is not exist."),
    "0005": (200, "missing request header."),
    "1000": (
        400,
        "There is an error in the interface request parameters. Check if the request parameter type or range "
        "is consistent with the interface.",
    ),
    "1001": (401, "no instance permission, Check whether the instance ID passed in by the request is correct."),
    "1003": (401, "tenant have no auth to use the API, please contact us to add you to the whitelist."),
    "1005": (400, "request param error, Request param not contain the all needed encode and net combinations."),
    "1012": (200, "instances are not belong to one tenant."),
    "1323": (400, "The application installation task does not exist."),
    "2004": (200, "the instance already frozen."),
    "2005": (200, "the instance is in recover."),
    "2006": (200, "the instance is in backup."),
    "2210": (400, "The binding relationship between the user and the instance does not exist."),
    "3001": (400, "input instance sku param need to match band sku."),
    "3002": (200, "no such sku or region."),
    "3003": (200, "common instance need os version."),
    "3006": (200, "if period type is month, period num should between 1-9."),
    "3007": (200, "if period type is year, period num should between 1-3."),
    "3008": (200, "fast_install in request param should be 0 or 1."),
    "3009": (200, "query phoneId error."),
    "4001": (200, "instance not exist."),
    "40010": (200, "out of stock."),
    "5001": (400, "Cannot delete on-demand instances."),
    "5002": (400, "The time request format is incorrect."),
    "5004": (400, "The query end date is earlier than the query start date."),
    "5005": (400, "Not all instances are running."),
    "6001": (401, "Authenticate Failed!"),
    "6002": (403, "No permission."),
    "62005": (400, "The app package already exists."),
    "62006": (200, "The app size must be a number."),
    "62010": (200, "The cloud instance is abnormal."),
    "62015": (200, "The size of the app package exceeds the limit of 2G."),
    "62016": (200, "The total size of application packages uploaded by the tenant exceeds the total limit."),
    "62017": (200, "Download failed, please check the install_package_url."),
    "62019": (200, "Install app failed."),
    "62020": (200, "Version Conflict."),
    "62021": (200, "not enough space."),
    "9999": (500, "unknown error."),
}

# KPAPI.2209 has its own prefix; the chapter-4 tables list it under 200/400/500, we answer 400.
KPAPI_2209 = ("KPAPI.2209", 400, "No device can be assigned.")


class ApiError(Exception):
    """A KooPhone error answer: raised anywhere in a handler, rendered by the server."""

    def __init__(self, code, detail=None, status=None):
        if code == "KPAPI.2209":
            self.error_code, self.status, message = KPAPI_2209
        else:
            self.status, message = CODES[code]
            self.error_code = PREFIX + code
        if status is not None:
            self.status = status
        # Only parameter errors carry a detail: it names the offending field, as real services do.
        self.error_msg = "%s (%s)" % (message, detail) if detail else message
        super().__init__(self.error_msg)

    def body(self):
        return {"error_code": self.error_code, "error_msg": self.error_msg}


def bad_param(detail):
    return ApiError("1000", detail)


def message(code):
    return CODES[code][1]


class GatewayError(Exception):
    """An API Gateway (APIG) answer: authentication failures, throttling, unknown APIs."""

    def __init__(self, status, code, error_msg, headers=None):
        self.status = status
        self.error_code = code
        self.error_msg = error_msg
        self.headers = headers or {}
        super().__init__(error_msg)

    def body(self, request_id):
        return {"error_code": self.error_code, "error_msg": self.error_msg, "request_id": request_id}


def auth_failed(reason):
    return GatewayError(401, "APIGW.0301", "Incorrect IAM authentication information: %s" % reason)


def api_not_found():
    return GatewayError(404, "APIGW.0101", "The API does not exist or has not been published in the environment")

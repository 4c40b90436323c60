"""The path of one API request: faults, authentication, x-request-id, the operation, the log.

This plays the part of Huawei's API gateway in front of the KooPhone service, so its own
answers use the gateway's shape (``APIGW.0301`` for bad credentials, ``APIGW.0308`` when
throttled, ``APIGW.0101`` for an unknown API) and the service's answers use KOOPHONE.API codes.
"""

import json
import sys
import time
import traceback
import uuid

from . import signing
from .config import IAM_OPERATION
from .errors import ApiError, GatewayError, api_not_found, auth_failed, bad_param
from .iam import IamError
from .operations import Call, find_route

IAM_PATH = "/v3/auth/tokens"
CLOSE = object()  # "close the connection without answering"


class Response:
    __slots__ = ("status", "body", "headers")

    def __init__(self, status, body, headers=None):
        self.status, self.body, self.headers = status, body, headers or {}


class Gateway:
    def __init__(self, emulator):
        self.emulator = emulator
        self.settings = emulator.settings

    def handle(self, req):
        """Serve one request; return a Response or CLOSE."""
        settings, emulator = self.settings, self.emulator
        route, params = None, {}
        if req.path == IAM_PATH:
            operation = IAM_OPERATION
        else:
            route, params = find_route(req.method, req.path)
            operation = route.operation if route else None
        request_id = req.headers.get("x-request-id") or req.query.get("x-request-id") or ""
        body, body_ok = parse_body(req)
        record = {
            "time": round(time.time(), 3),
            "method": req.method,
            "path": req.path,
            "query": req.query,
            "operation": operation,
            "request_id": request_id or None,
            "auth": auth_kind(req.headers),
            "instance_ids": instance_ids(body, req.query, params or {}),
            "status": None,
            "error_code": None,
            "fault": None,
            "spike": False,
            "peer": req.peer,  # client address:port, so a test can count connections (keep-alive)
        }
        fault, fault_status = None, None
        if operation is not None:
            record["spike"] = emulator.faults.spike(operation)
            delay_ms = settings.latency_ms + (settings.spike_ms if record["spike"] else 0)
            if delay_ms > 0 and emulator.faults.in_scope(operation):
                time.sleep(delay_ms / 1000.0)  # outside any lock: concurrent requests overlap
            fault, fault_status = emulator.faults.decide(operation)
        record["fault"] = fault
        answer_id = request_id or uuid.uuid4().hex

        if fault == "drop":
            self._log(record, req)
            return CLOSE
        if fault == "5xx":
            response = Response(fault_status or 503, {"error_code": "KOOPHONE.API.9999", "error_msg": "unknown error."})
        elif fault == "429":
            retry = str(settings.retry_after)
            response = Response(
                429,
                GatewayError(
                    429,
                    "APIGW.0308",
                    "The throttling threshold has been reached: policy user over ratelimit, limit:%s" % retry,
                ).body(answer_id),
                {"Retry-After": retry},
            )
        elif fault == "expire":
            response = Response(401, ApiError("6001").body())
        else:
            response = self._serve(req, route, params, operation, record, answer_id, body, body_ok)
        response.headers["X-Request-Id"] = answer_id
        record["status"] = response.status
        record["error_code"] = error_code_of(response.body)
        if operation == "CreateInstance":
            add_order_fields(record, body, response.body)
        self._log(record, req)
        return CLOSE if fault == "lost" else response

    def _serve(self, req, route, params, operation, record, request_id, body, body_ok):
        try:
            if operation == IAM_OPERATION:
                return self._iam(req)
            if route is None or (operation == "ListInstanceApp" and not self.settings.app_list):
                raise api_not_found()
            record["auth"] = self._authenticate(req)
            if not self.settings.tenant_whitelisted:
                # §6.2: 1003 "tenant have no auth to use the API", HTTP 401 (permission_status).
                raise ApiError("1003", status=self.settings.permission_status)
            if route.needs_request_id or "x-request-id" in req.headers:
                check_request_id(req, route)
            if not body_ok:
                raise bad_param("the request body is not valid JSON")
            state = self.emulator.state
            with state.lock:
                state.tick()
                answer = route.handler(Call(state, body, req.query, params))
            return Response(200, answer)
        except ApiError as error:
            return Response(error.status, error.body())
        except GatewayError as error:
            return Response(error.status, error.body(request_id), error.headers)
        except Exception:  # a bug in the emulator: answer like the service would, and say why on stderr
            traceback.print_exc(file=sys.stderr)
            return Response(500, {"error_code": "KOOPHONE.API.9999", "error_msg": "unknown error."})

    def _iam(self, req):
        if req.method != "POST":
            raise api_not_found()
        try:
            body = json.loads(req.body or b"null")
            token, answer = self.emulator.tokens.login(body if isinstance(body, dict) else {})
        except ValueError:
            return Response(400, IamError(400, "The request body is not valid JSON.").body())
        except IamError as error:
            return Response(error.status, error.body())
        return Response(201, answer, {"X-Subject-Token": token})

    def _authenticate(self, req):
        """'token', 'iam-token' or 'aksk'; raise GatewayError/ApiError for anything else."""
        settings = self.settings
        token = req.headers.get("x-auth-token")
        if token:
            try:
                return self.emulator.tokens.check(token)
            except LookupError as problem:
                reason = str(problem.args[0])
                if reason == "expired":
                    raise ApiError("6001") from None
                if reason == "unscoped":
                    raise ApiError("6002") from None
                raise auth_failed("the token is invalid or was not issued by IAM") from None
        if not req.headers.get("authorization", "").startswith(signing.ALGORITHM):
            raise auth_failed("no X-Auth-Token and no SDK-HMAC-SHA256 Authorization header")
        try:
            signing.verify(
                req.method,
                req.raw_path,
                req.raw_query,
                req.headers,
                req.body,
                lambda ak: settings.secret_key if ak == settings.access_key else None,
            )
        except signing.SignatureError as problem:
            raise auth_failed(str(problem)) from None
        if settings.security_token and req.headers.get("x-security-token") != settings.security_token:
            raise auth_failed("the X-Security-Token of these temporary credentials is missing or wrong")
        # The reference's paths carry no project id and it does not make X-Project-Id mandatory:
        # a request without it is accepted unless require_project_id; a wrong one is always refused.
        project_id = req.headers.get("x-project-id")
        if not project_id:
            if settings.require_project_id:
                raise ApiError("0005")
        elif project_id != settings.project_id:
            raise ApiError("0004")
        return "aksk"

    def _log(self, record, req):
        self.emulator.log.add(record)
        if not self.settings.quiet:
            sys.stderr.write(
                "%s %s %s %s %s%s\n"
                % (
                    req.method,
                    req.path,
                    record["operation"],
                    record["status"],
                    record["error_code"] or "-",
                    " fault=%s" % record["fault"] if record["fault"] else "",
                )
            )


def auth_kind(headers):
    if headers.get("x-auth-token"):
        return "token"
    if headers.get("authorization"):
        return "aksk"
    return "none"


def check_request_id(req, route):
    # ListInstances carries it in the query in both sources; a header is accepted there too.
    value = req.headers.get("x-request-id")
    if value is None and route.operation == "ListInstances":
        value = req.query.get("x-request-id")
    if value is None:
        raise ApiError("0002")
    if not value.strip() or len(value) > 128:
        raise ApiError("0003")


def parse_body(req):
    """(body, True) or (None, False) when it is not JSON. Parsed before anything else, for the log."""
    if req.method in ("GET", "DELETE") or not req.body:
        return None, True
    try:
        return json.loads(req.body), True
    except ValueError:
        return None, False


def instance_ids(body, query, params):
    """Every instance id a request names, for the log."""
    found = []
    if isinstance(body, dict):
        for key in ("instance_ids", "instance_id_list", "instanceIdList"):
            if isinstance(body.get(key), list):
                found.extend(item for item in body[key] if isinstance(item, str))
        if isinstance(body.get("instance_id"), str):
            found.append(body["instance_id"])
        if isinstance(body.get("user_instances"), list):
            found.extend(
                pair["instance_id"]
                for pair in body["user_instances"]
                if isinstance(pair, dict) and isinstance(pair.get("instance_id"), str)
            )
    for source in (params, query):
        if source.get("instance_id"):
            found.append(source["instance_id"])
    return found


def add_order_fields(record, body, answer):
    """CreateInstance records also carry the count asked for and the order id answered (None if refused)."""
    record["count"] = body.get("count") if isinstance(body, dict) else None
    data = answer.get("data") if isinstance(answer, dict) else None
    record["order_id"] = data.get("orderId") if isinstance(data, dict) else None


def error_code_of(body):
    if not isinstance(body, dict):
        return None
    if "error_code" in body:
        return body["error_code"]
    if isinstance(body.get("data"), dict) and "error_code" in body["data"]:
        return body["data"]["error_code"]
    if isinstance(body.get("error"), dict):
        return str(body["error"].get("code"))
    return None

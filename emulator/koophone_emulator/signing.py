"""Verify Huawei Cloud ``SDK-HMAC-SHA256`` AK/SK signatures, as the official SDK produces them.

The gateway recomputes the canonical request from what arrived:

    METHOD \\n canonical URI \\n canonical query \\n canonical headers \\n signed headers \\n sha256(body)

- canonical URI: the path, percent-decoded, split on "/", each segment RFC 3986 encoded, and
  always ending with "/";
- canonical query: key=value pairs, RFC 3986 encoded, sorted by key then value;
- canonical headers: "name:value\\n" for each signed header, lower-case name, trimmed value;
- body hash: sha256 hex of the body, the empty-body hash when there is none, or the literal
  X-Sdk-Content-Sha256 value (UNSIGNED-PAYLOAD) when the signer set one.

The string to sign is "SDK-HMAC-SHA256\\n<X-Sdk-Date>\\n<sha256 hex of the canonical request>" and
the signature is its hex HMAC-SHA256 under the SK.

Two details are ambiguous for clients other than the SDK, so a request is accepted if any of
a few readings matches: a "+" in the query may mean "+" (the SDK encodes spaces as %20) or a
space (form encoding), and pairs may be sorted before or after encoding (they differ only for
reserved and non-ASCII characters). A tampered request matches none of them.
"""

import calendar
import hashlib
import hmac
import re
import time
from urllib.parse import quote, unquote, unquote_plus

ALGORITHM = "SDK-HMAC-SHA256"
EMPTY_SHA256 = hashlib.sha256(b"").hexdigest()
MAX_SKEW_SECONDS = 15 * 60
_AUTH_RE = re.compile(
    r"^SDK-HMAC-SHA256\s+Access=(?P<ak>[^,\s]+),\s*SignedHeaders=(?P<signed>[^,\s]+),\s*Signature=(?P<sig>[0-9a-fA-F]+)$"
)


class SignatureError(Exception):
    """Why a signed request was refused; the text goes into the APIGW.0301 message."""


def _encode(text):
    return quote(text, safe="~")


def canonical_uri(raw_path):
    uri = "/".join(_encode(segment) for segment in unquote(raw_path).split("/"))
    return uri if uri.endswith("/") else uri + "/"


def canonical_query(raw_query, decode=unquote, sort_encoded=False):
    pairs = []
    for part in raw_query.split("&"):
        if not part:
            continue
        key, _separator, value = part.partition("=")
        pairs.append((decode(key), decode(value)))
    encoded = [(_encode(key), _encode(value)) for key, value in pairs]
    if sort_encoded:
        encoded.sort()
    else:
        encoded = [pair for _raw, pair in sorted(zip(pairs, encoded))]
    return "&".join("%s=%s" % pair for pair in encoded)


def parse_authorization(value):
    match = _AUTH_RE.match(value.strip())
    if not match:
        raise SignatureError("the Authorization header is not an SDK-HMAC-SHA256 signature")
    return match.group("ak"), match.group("signed").split(";"), match.group("sig").lower()


def verify(method, raw_path, raw_query, headers, body, secret_for, now=None):
    """Return the access key of a correctly signed request, or raise SignatureError.

    ``headers`` maps lower-case names to values as received (latin-1 decoded by http.server);
    ``secret_for(ak)`` returns the SK or None for an unknown AK.
    """
    access_key, signed_headers, signature = parse_authorization(headers.get("authorization", ""))
    secret = secret_for(access_key)
    if secret is None:
        raise SignatureError("the access key %s does not exist" % access_key)
    date = headers.get("x-sdk-date")
    if not date:
        raise SignatureError("the X-Sdk-Date header is missing")
    try:
        signed_at = calendar.timegm(time.strptime(date, "%Y%m%dT%H%M%SZ"))
    except ValueError:
        raise SignatureError("the X-Sdk-Date header is not YYYYMMDDTHHMMSSZ") from None
    if abs((time.time() if now is None else now) - signed_at) > MAX_SKEW_SECONDS:
        raise SignatureError("the X-Sdk-Date is more than 15 minutes away from the server time")

    canonical_headers = []
    for name in signed_headers:
        if name not in headers:
            raise SignatureError("the signed header %s is missing" % name)
        # The SDK sends UTF-8 bytes; http.server decoded them as latin-1. Undo that before trimming.
        value = headers[name].encode("latin-1", "replace").decode("utf-8", "replace").strip()
        canonical_headers.append("%s:%s\n" % (name, value))
    content_hash = headers.get("x-sdk-content-sha256")
    body_hash = (
        content_hash
        if content_hash == "UNSIGNED-PAYLOAD"
        else hashlib.sha256(body).hexdigest()
        if body
        else EMPTY_SHA256
    )

    readings = []
    for decode in (unquote, unquote_plus):
        for sort_encoded in (False, True):
            query = canonical_query(raw_query, decode, sort_encoded)
            if query not in readings:
                readings.append(query)
    for query in readings:
        canonical_request = "\n".join(
            [
                method.upper(),
                canonical_uri(raw_path),
                query,
                "".join(canonical_headers),
                ";".join(signed_headers),
                body_hash,
            ]
        )
        string_to_sign = "%s\n%s\n%s" % (ALGORITHM, date, hashlib.sha256(canonical_request.encode("utf-8")).hexdigest())
        expected = hmac.new(secret.encode("utf-8"), string_to_sign.encode("utf-8"), hashlib.sha256).hexdigest()
        if hmac.compare_digest(expected, signature):
            return access_key
    raise SignatureError("verify aksk signature fail")

# Copyright: (c) 2026, koophone.cloud contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# Private to the koophone.cloud collection (shared layer; see docs/development.md): not a public API,
# it may change in any release. Do not import it from other collections or standalone plugins.
"""Huawei Cloud AK/SK request signing (SDK-HMAC-SHA256).

The gateway recomputes the signature from what it receives, so the canonical query string we
sign must be exactly the query string we send: ``canonical_query`` builds both.
tests/unit/plugins/module_utils/test_signer.py checks the result against the official
huaweicloudsdkcore signer.
"""

import hashlib
import hmac
import time
from urllib.parse import quote, unquote

ALGORITHM = "SDK-HMAC-SHA256"
DATE_FORMAT = "%Y%m%dT%H%M%SZ"
EMPTY_BODY_SHA256 = hashlib.sha256(b"").hexdigest()


def _encode(value):
    # RFC 3986: everything but unreserved characters is percent-encoded, '/' and ' ' included.
    return quote(value, safe="~")


def canonical_query(params):
    """Sorted, percent-encoded ``k=v&...`` from a list of (key, value) pairs or a dict."""
    if isinstance(params, dict):
        params = list(params.items())
    encoded = []
    for key, value in sorted((str(k), _text(v)) for k, v in params):
        encoded.append("%s=%s" % (_encode(key), _encode(value)))
    return "&".join(encoded)


def _text(value):
    if isinstance(value, bool):
        return "true" if value else "false"
    return "%s" % (value,)


def canonical_uri(path):
    segments = [_encode(segment) for segment in unquote(path).split("/")]
    uri = "/".join(segments)
    return uri if uri.endswith("/") else uri + "/"


def sign(method, path, query, headers, body, access_key, secret_key, now=None):
    """Return a copy of ``headers`` with X-Sdk-Date and Authorization added.

    ``headers`` must already hold Host and every header the request will carry that should be
    signed; header names containing '_' are not signed, as the official SDK does.
    """
    signed = dict(headers)
    if not any(name.lower() == "x-sdk-date" for name in signed):
        signed["X-Sdk-Date"] = time.strftime(DATE_FORMAT, time.gmtime(now))
    date = [value for name, value in signed.items() if name.lower() == "x-sdk-date"][0]

    lowered = dict((name.lower(), ("%s" % value).strip()) for name, value in signed.items() if "_" not in name)
    signed_names = sorted(lowered)
    canonical_headers = "".join("%s:%s\n" % (name, lowered[name]) for name in signed_names)
    body_hash = hashlib.sha256(body).hexdigest() if body else EMPTY_BODY_SHA256

    canonical_request = "\n".join(
        [
            method.upper(),
            canonical_uri(path),
            canonical_query(query or []),
            canonical_headers,
            ";".join(signed_names),
            body_hash,
        ]
    )
    string_to_sign = "\n".join([ALGORITHM, date, hashlib.sha256(canonical_request.encode("utf-8")).hexdigest()])
    signature = hmac.new(secret_key.encode("utf-8"), string_to_sign.encode("utf-8"), hashlib.sha256).hexdigest()
    signed["Authorization"] = "%s Access=%s, SignedHeaders=%s, Signature=%s" % (
        ALGORITHM,
        access_key,
        ";".join(signed_names),
        signature,
    )
    return signed

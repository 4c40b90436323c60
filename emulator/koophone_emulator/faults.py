"""Which fault, if any, hits a request.

Kinds and what the server does with them:
- "5xx": answer 500/502/503 KOOPHONE.API.9999 without applying the request;
- "429": answer 429 APIGW.0308 with Retry-After, without applying;
- "drop": read the whole request, close the connection unanswered, without applying;
- "lost": apply the request, then close the connection unanswered (the response was lost);
- "expire": answer 401 KOOPHONE.API.6001 as if the token had just expired (script only).

Latency spikes (``rate_spike``, ``spike_ms``) delay a share of requests on top of ``latency_ms``;
they are drawn from a generator of their own, so turning them on moves no fault.

A scripted fault (``{"operation": "CreateInstance", "fault": "lost", "times": 1}``) hits the
next matching request(s) exactly; otherwise the rates decide, with a generator seeded from
``--seed`` so a run can be repeated. Faults only touch the operations in ``fault_operations``
(default: the 21 KooPhone operations, never IAM or the control API) — a script entry naming an
operation explicitly always applies to it.
"""

import random
import threading
import time


class Faults:
    def __init__(self, settings, operations):
        self.settings = settings
        self.default_scope = frozenset(operations)
        self.lock = threading.Lock()
        self.reseed(settings.seed)

    def reseed(self, seed):
        with self.lock:
            self.seed = seed
            self.rng = random.Random("faults-%s" % seed)
            self.streams = {}
            self.bucket = None

    def _stream(self, kind, operation):
        """The generator of ``kind`` ("faults" or "spikes") for ``operation``, per ``fault_draws``."""
        if self.settings.fault_draws != "per-operation":
            operation = None
        if kind == "faults" and operation is None:
            return self.rng  # the historical stream: a seed keeps hitting the same requests
        key = (kind, operation)
        if key not in self.streams:
            self.streams[key] = random.Random("%s-%s-%s" % (kind, self.seed, operation or ""))
        return self.streams[key]

    def spike(self, operation):
        """Whether this request is delayed by a latency spike (``spike_ms`` more)."""
        if self.settings.rate_spike <= 0 or not self.in_scope(operation):
            return False
        with self.lock:
            return self._stream("spikes", operation).random() < self.settings.rate_spike

    def in_scope(self, operation):
        scope = self.settings.fault_operations
        return operation in (scope if scope else self.default_scope)

    def decide(self, operation):
        """Return (kind, http status or None), or (None, None) for a clean request."""
        settings = self.settings
        with self.lock:
            for entry in settings.script:
                named = entry["operation"]
                if named == operation or (named == "*" and self.in_scope(operation)):
                    entry["times"] -= 1
                    if entry["times"] <= 0:
                        settings.script.remove(entry)
                    status = entry["status"] or (503 if entry["fault"] == "5xx" else None)
                    return entry["fault"], status
            if not self.in_scope(operation):
                return None, None
            if settings.throttle_rps > 0 and not self._take_token(settings.throttle_rps):
                return "429", 429
            rng = self._stream("faults", operation)
            roll = rng.random()
            for kind, rate in (
                ("5xx", settings.rate_5xx),
                ("drop", settings.rate_drop),
                ("lost", settings.rate_lost),
                ("429", settings.rate_429),
            ):
                if roll < rate:
                    return kind, (rng.choice((500, 502, 503)) if kind == "5xx" else None)
                roll -= rate
            return None, None

    def _take_token(self, rate):
        # A token bucket holding one second's worth of requests.
        now = time.monotonic()
        if self.bucket is None:
            self.bucket = [max(rate, 1.0), now]
        tokens, last = self.bucket
        tokens = min(max(rate, 1.0), tokens + (now - last) * rate)
        if tokens >= 1:
            self.bucket = [tokens - 1, now]
            return True
        self.bucket = [tokens, now]
        return False

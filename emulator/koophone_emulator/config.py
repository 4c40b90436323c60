"""Every emulator setting, declared once.

The same table drives the command line (``--rate-5xx 0.1``) and the control API
(``POST /_emulator/config {"rate_5xx": 0.1}``), so a setting can never exist in one and not
the other. Only host, port and ready_file are fixed once the server listens.
"""

import argparse
import dataclasses
from dataclasses import dataclass, field

PAGING_FIELDS = ("data", "top", "both")
INSTALL_RESPONSES = ("data", "nested")
FAULT_KINDS = ("5xx", "drop", "lost", "429", "expire")
# Random faults and spikes: one generator for all requests, so a request's draw depends on every request
# before it; or one per operation, so the Nth request of an operation meets the same draw however many
# polls (of other operations) a run's timing made.
FAULT_DRAWS = ("shared", "per-operation")
# Strict and lenient readings of the reference (docs/emulator.md "Strict and lenient readings"):
# the first value of each is the default, the strict reading.
COMMAND_CHARSETS = ("strict", "any")
PAGE_SIZE_ECHOES = ("requested", "served")
NAME_FILTERS = ("exact", "substring")
PERMISSION_STATUSES = (401, 400)
UNPAID_ORDERS = ("hidden", "listed")
INSTANCE_TASKS = ("unknown", "known")
STATUS_CODES = ("table", "function")
STOP_IDLE_STREAMS = ("error", "ok")
CATALOGUES = ("reference", "mixed")

# The IAM password login is logged and faulted under this name (the collection uses it too).
IAM_OPERATION = "KeystoneCreateUserTokenByPassword"


def _opt(flag, help, kind=None, choices=None, runtime=True, bounds=None):
    return {"flag": flag, "help": help, "kind": kind, "choices": choices, "runtime": runtime, "bounds": bounds}


@dataclass
class Settings:
    host: str = field(default="127.0.0.1", metadata=_opt("--host", "address to listen on", runtime=False))
    port: int = field(default=8780, metadata=_opt("--port", "port to listen on (0: any free port)", runtime=False))
    ready_file: str = field(
        default="", metadata=_opt("--ready-file", "write {url, port} JSON here once listening", runtime=False)
    )
    instances: int = field(default=20, metadata=_opt("--instances", "size of the seeded fleet"))
    seed: int = field(default=1, metadata=_opt("--seed", "seed of every random choice"))
    mix: bool = field(default=False, metadata=_opt("--mix", "seed a realistic mix of states instead of all running"))
    capacity: int = field(default=20000, metadata=_opt("--capacity", "fleet size above which create is out of stock"))
    latency_ms: float = field(default=0.0, metadata=_opt("--latency-ms", "delay before handling each API request"))
    rate_5xx: float = field(default=0.0, metadata=_opt("--rate-5xx", "share of requests answered 500/502/503"))
    rate_drop: float = field(default=0.0, metadata=_opt("--rate-drop", "share closed unanswered, not applied"))
    rate_lost: float = field(default=0.0, metadata=_opt("--rate-lost", "share applied, then closed unanswered"))
    rate_429: float = field(default=0.0, metadata=_opt("--rate-429", "share answered 429 (throttled)"))
    retry_after: int = field(default=1, metadata=_opt("--retry-after", "Retry-After seconds sent with 429"))
    rate_spike: float = field(
        default=0.0, metadata=_opt("--rate-spike", "share of requests delayed a further spike_ms (latency spikes)")
    )
    spike_ms: float = field(default=200.0, metadata=_opt("--spike-ms", "extra delay of a latency spike"))
    fault_draws: str = field(
        default="shared",
        metadata=_opt(
            "--fault-draws",
            "one random stream for every request (shared), or one per operationId (per-operation)",
            choices=FAULT_DRAWS,
        ),
    )
    throttle_rps: float = field(
        default=0.0, metadata=_opt("--throttle-rps", "token bucket: answer 429 above this many requests/s (0: off)")
    )
    fault_operations: list = field(
        default_factory=list,
        metadata=_opt(
            "--fault-operations",
            "comma-separated operationIds that faults and latency apply to (default: the 21 KooPhone operations)",
            kind="list",
        ),
    )
    script: list = field(default_factory=list, metadata=_opt(None, "queued exact faults (control API only)"))
    token_ttl: int = field(default=86400, metadata=_opt("--token-ttl", "lifetime of issued IAM tokens, seconds"))
    task_seconds: float = field(default=0.5, metadata=_opt("--task-seconds", "how long async tasks take"))
    boot_seconds: float = field(default=1.0, metadata=_opt("--boot-seconds", "how long starting -> running takes"))
    paging_fields: str = field(
        default="data",
        metadata=_opt("--paging-fields", "where batch-query puts page_no/page_size/total_count", choices=PAGING_FIELDS),
    )
    install_response: str = field(
        default="data",
        metadata=_opt(
            "--install-response", "app/install answers data.{...} or data.data.{...}", choices=INSTALL_RESPONSES
        ),
    )
    app_list: bool = field(default=True, metadata=_opt("--no-app-list", "answer ListInstanceApp with 404", kind="off"))
    quiet: bool = field(default=False, metadata=_opt("--quiet", "no per-request lines on stderr"))
    iam_user: str = field(default="demo", metadata=_opt("--iam-user", "IAM user name"))
    iam_password: str = field(default="demo-password", metadata=_opt("--iam-password", "IAM user password"))
    iam_domain: str = field(default="demo-domain", metadata=_opt("--iam-domain", "IAM domain (account) name"))
    project_name: str = field(default="cn-north-4", metadata=_opt("--project-name", "project name"))
    project_id: str = field(default="0a1b2c3d4e5f60718293a4b5c6d7e8f9", metadata=_opt("--project-id", "project id"))
    access_key: str = field(default="KOOPHONEDEMOAK00001", metadata=_opt("--access-key", "AK for AK/SK signing"))
    secret_key: str = field(
        default="koophone-demo-secret-key-000000000000000", metadata=_opt("--secret-key", "SK for AK/SK signing")
    )
    security_token: str = field(
        default="", metadata=_opt("--security-token", "if set, AK/SK requests must carry this X-Security-Token")
    )
    static_token: str = field(default="demo-token", metadata=_opt("--static-token", "X-Auth-Token that never expires"))
    # ------------------------------------------------------------------ strict (default) and lenient readings
    command_charset: str = field(
        default="strict",
        metadata=_opt(
            "--command-charset",
            "strict: commands may hold only letters, digits, space and _ . / : - (else 1000); any: only the byte limit",
            choices=COMMAND_CHARSETS,
        ),
    )
    page_cap: int = field(
        default=100,
        metadata=_opt(
            "--page-cap", "most items one batch-query/app-list page serves, whatever page_size asked", bounds=(1, 200)
        ),
    )
    page_size_echo: str = field(
        default="requested",
        metadata=_opt(
            "--page-size-echo",
            "page_size in paged answers: the size requested, or the size served (min(page_size, page_cap))",
            choices=PAGE_SIZE_ECHOES,
        ),
    )
    name_filter: str = field(
        default="exact",
        metadata=_opt(
            "--name-filter", "batch-query instance_name matches whole names or substrings", choices=NAME_FILTERS
        ),
    )
    permission_status: int = field(
        default=401,
        metadata=_opt(
            "--permission-status",
            "HTTP status of KOOPHONE.API.1001 and 1003 (the reference's 6.2 says 401)",
            choices=PERMISSION_STATUSES,
        ),
    )
    tenant_whitelisted: bool = field(
        default=True,
        metadata=_opt("--no-tenant-whitelist", "answer every KooPhone operation KOOPHONE.API.1003", kind="off"),
    )
    unpaid_orders: str = field(
        default="hidden",
        metadata=_opt(
            "--unpaid-orders",
            "instances of an unpaid create order (isAutoPay 0) are hidden until paid, or listed at once",
            choices=UNPAID_ORDERS,
        ),
    )
    effect_delay: float = field(
        default=1.0,
        metadata=_opt("--effect-delay", "seconds before a delete or an unassign shows in batch-query (0: at once)"),
    )
    instance_tasks: str = field(
        default="unknown",
        metadata=_opt(
            "--instance-tasks",
            "tasks/{task_id} answers the RM_ tasks of reset/unassign/backup 1323 (unknown) or their jobs (known)",
            choices=INSTANCE_TASKS,
        ),
    )
    status_codes: str = field(
        default="table",
        metadata=_opt(
            "--status-codes",
            "batch-query-status codes per Table 4-34 (0 idle ... 7) or the function text (running_status 0-5)",
            choices=STATUS_CODES,
        ),
    )
    backup_stops: bool = field(
        default=False,
        metadata=_opt("--backup-stops", "a finished backup releases the phone (stopped, data offline until prepared)"),
    )
    stop_idle_stream: str = field(
        default="error",
        metadata=_opt(
            "--stop-idle-stream",
            "streaming/stop on a phone that is not streaming: 1000 (error) or success (ok)",
            choices=STOP_IDLE_STREAMS,
        ),
    )
    catalogue: str = field(
        default="reference",
        metadata=_opt("--catalogue", "SKU pools: ADN only (reference) or EIP and ADN (mixed)", choices=CATALOGUES),
    )
    require_project_id: bool = field(
        default=False,
        metadata=_opt("--require-project-id", "AK/SK requests without X-Project-Id get KOOPHONE.API.0005"),
    )

    def public(self):
        return dataclasses.asdict(self)

    def update(self, changes):
        """Apply control-API changes after checking every one of them; raise ValueError naming the bad key."""
        known = {f.name: f for f in dataclasses.fields(self)}
        coerced = {}
        for raw_key, value in changes.items():
            key = raw_key.replace("-", "_")
            spec = known.get(key)
            if spec is None:
                raise ValueError("unknown setting %r" % raw_key)
            if not spec.metadata["runtime"]:
                raise ValueError("%s cannot change while the server runs" % key)
            coerced[key] = _coerce(spec, value)
        for key, value in coerced.items():
            setattr(self, key, value)


def _coerce(spec, value):
    name, kind = spec.name, spec.type
    if name == "script":
        return check_script(value)
    if spec.metadata["kind"] == "list":
        if isinstance(value, str):
            value = [part.strip() for part in value.split(",") if part.strip()]
        if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
            raise ValueError("%s must be a list of operation names" % name)
        return value
    if kind is bool:
        if isinstance(value, bool):
            return value
        raise ValueError("%s must be true or false" % name)
    if kind in (int, float):
        if isinstance(value, bool) or not isinstance(value, (int, float, str)):
            raise ValueError("%s must be a number" % name)
        try:
            number = kind(value)
        except ValueError:
            raise ValueError("%s must be a number" % name) from None
        if number < 0 or (name.startswith("rate_") and number > 1):
            raise ValueError("%s is out of range" % name)
        bounds = spec.metadata["bounds"]
        if bounds and not bounds[0] <= number <= bounds[1]:
            raise ValueError("%s must be between %d and %d" % (name, bounds[0], bounds[1]))
        choices = spec.metadata["choices"]
        if choices and number not in choices:
            raise ValueError("%s must be one of %s" % (name, ", ".join(str(choice) for choice in choices)))
        return number
    if not isinstance(value, str):
        raise ValueError("%s must be a string" % name)
    choices = spec.metadata["choices"]
    if choices and value not in choices:
        raise ValueError("%s must be one of %s" % (name, ", ".join(choices)))
    return value


def check_script(script):
    """A fault script is a list of {"operation": name or "*", "fault": kind, "times": n, "status": code}."""
    if not isinstance(script, list):
        raise ValueError("script must be a list")
    checked = []
    for entry in script:
        if not isinstance(entry, dict) or entry.get("fault") not in FAULT_KINDS:
            raise ValueError("each script entry needs fault: one of %s" % ", ".join(FAULT_KINDS))
        times = entry.get("times", 1)
        if not isinstance(times, int) or isinstance(times, bool) or times < 1:
            raise ValueError("script times must be a positive integer")
        status = entry.get("status")
        if status is not None and status not in (500, 502, 503, 504):
            raise ValueError("script status must be 500, 502, 503 or 504")
        checked.append(
            {"operation": entry.get("operation") or "*", "fault": entry["fault"], "times": times, "status": status}
        )
    return checked


def build_parser():
    parser = argparse.ArgumentParser(
        prog="koophone-emulator",
        description="A stateful, offline emulator of the KooPhone API (see docs/emulator.md).",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    for spec in dataclasses.fields(Settings):
        meta = spec.metadata
        if meta["flag"] is None:
            continue
        dest = spec.name
        if meta["kind"] == "off":
            parser.add_argument(meta["flag"], dest=dest, action="store_false", help=meta["help"])
        elif spec.type is bool:
            parser.add_argument(meta["flag"], dest=dest, action="store_true", help=meta["help"])
        elif meta["kind"] == "list":
            parser.add_argument(meta["flag"], dest=dest, default=[], type=_split_list, help=meta["help"])
        else:
            parser.add_argument(
                meta["flag"],
                dest=dest,
                type=spec.type,
                choices=meta["choices"],
                default=spec.default,
                help=meta["help"],
            )
    return parser


def _split_list(text):
    return [part.strip() for part in text.split(",") if part.strip()]


def settings_from_args(argv=None):
    args = build_parser().parse_args(argv)
    settings = Settings()
    for spec in dataclasses.fields(Settings):
        if hasattr(args, spec.name):
            setattr(settings, spec.name, getattr(args, spec.name))
    for name in ("rate_5xx", "rate_drop", "rate_lost", "rate_429", "rate_spike"):
        if not 0 <= getattr(settings, name) <= 1:
            build_parser().error("--%s must be between 0 and 1" % name.replace("_", "-"))
    for spec in dataclasses.fields(Settings):
        bounds = spec.metadata["bounds"]
        if bounds and not bounds[0] <= getattr(settings, spec.name) <= bounds[1]:
            build_parser().error("%s must be between %d and %d" % (spec.metadata["flag"], bounds[0], bounds[1]))
    if settings.effect_delay < 0:
        build_parser().error("--effect-delay must not be negative")
    return settings

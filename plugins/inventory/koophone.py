# Copyright: (c) 2026, koophone.cloud contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

DOCUMENTATION = r"""
name: koophone
short_description: KooPhone cloud phones as Ansible hosts
version_added: 0.1.0
description:
  - Reads every KooPhone cloud phone of the tenant from the batch-query API (C(GET /v1/instances/batch-query))
    and adds one host per phone, with its batch-query fields as C(koophone_*) host variables and groups by region,
    SKU, running status and assignment.
  - Page 1 is read first, then the remaining pages concurrently (at most O(concurrency) at a time), through the
    same HTTP client, retries and credentials as the C(koophone.cloud) modules. Paging fields are accepted inside
    C(data) or at the top level of the answer.
  - Each page is prepared (selection, host names, variables, groups) while the others are still in flight. The
    inventory only changes once every page is in, so a read that fails adds no host at all.
  - Phones cannot be reached over SSH; by default every phone runs its tasks on the controller
    (O(connection_vars)), where the C(koophone.cloud) modules call the API for it.
  - The configuration file name must end with C(koophone.yml) or C(koophone.yaml), for example C(koophone.yml) or
    C(prod.koophone.yaml).
  - Values that come from the API are data, never templates. On ansible-core 2.19 and later they are untrusted
    strings, so a phone named like a template, for example V({{ 7 * 7 }}) or a C(lookup) call, is just that name,
    in host names, host variables, group names and everything O(compose) makes of them.
author:
  - koophone.cloud maintainers (@koophone)
options:
  plugin:
    description: Marks this file as a configuration of this plugin.
    type: str
    required: true
    choices: [koophone.cloud.koophone]
  page_size:
    description:
      - Phones per batch-query page (1 to 200). The API Explorer allows 200 while the reference states no maximum,
        so 100 is the safe default; if the service serves smaller pages, the plugin pages by what it serves.
      - Fewer, larger pages need fewer round trips; see the performance notes in the collection's C(docs/inventory.md).
    type: int
    default: 100
  instance_name:
    description:
      - Server-side filter C(instance_name) (at most 128 characters). The service matches it against phone names.
      - For exact names or wildcards use O(name_patterns), which is applied by the plugin.
    type: str
  pool_scene_tag:
    description: Server-side filter by resource pool scenario.
    type: str
    choices: [CLOUD_APP, CLOUD_PHONE]
  pool_name:
    description:
      - Server-side filter by node group (pool) name, at most 128 characters.
      - Only in the API Explorer's description of batch-query, not in the reference; a service that does not know it
        may ignore it.
    type: str
  query_start_time:
    description: Server-side filter, only phones created at or after this UTC time, formatted C(YYYY-MM-DD HH:MM:SS).
    type: str
  query_end_time:
    description:
      - Server-side filter, only phones created at or before this UTC time, formatted C(YYYY-MM-DD HH:MM:SS).
      - Must not be earlier than O(query_start_time).
    type: str
  running_status:
    description:
      - Only phones in one of these running states, by name (V(unknown), V(stopped), V(running), V(going_offline),
        V(starting), V(shut_down)) or number (0 to 5).
    type: list
    elements: str
  regions:
    description: Only phones in one of these regions (for example V(cn-north-4)); shell-style wildcards work.
    type: list
    elements: str
  assign_status:
    description: Only phones that are assigned to a user, or only those that are not.
    type: str
    choices: [assigned, unassigned]
  name_patterns:
    description: Only phones whose C(instance_name) matches one of these shell-style patterns (for example V(game-*)).
    type: list
    elements: str
  include_filters:
    description:
      - When set, only phones that match at least one of these filters (and every filter option above) become hosts.
      - "A filter is either a dictionary or a string. A dictionary maps batch-query field names (V(region),
        V(assign_user), V(running_status), ..., or a status's readable name such as V(running_status_name)) to a
        value or a list of values; a phone matches when every field has one of the listed values. Strings match with
        shell-style wildcards; status fields accept names or numbers. Dictionaries cost next to nothing at any fleet
        size."
      - "A string is a Jinja conditional, written like a C(when:) condition, over the phone's C(koophone_*) variables,
        for example V(koophone_instance_name is match('game-') and koophone_frozen_status == 0). Each costs a
        template evaluation per phone (0.5 to 1 ms with ansible-core 2.19, so seconds at 10,000 phones),
        and runs only for phones the dictionaries did not already decide. An expression that fails for a phone counts
        as not matching, with one warning per expression; with O(strict=true) the inventory fails instead."
      - Filters are applied to one snapshot of the fleet read once, so hosts never come from different reads.
    type: list
    elements: raw
    default: []
  exclude_filters:
    description:
      - Phones that match any of these filters (same forms as O(include_filters)) never become hosts, even if they
        match an include filter.
    type: list
    elements: raw
    default: []
  hostnames:
    description:
      - How each phone's inventory hostname is chosen, in order of preference. The first entry that gives a
        non-empty value wins; the instance id is the last resort.
      - An entry is a batch-query field name (V(instance_name), V(instance_id), V(phone_id), ...; the
        C(koophone_) prefix may be written or not) or a template over the phone's C(koophone_*) variables,
        for example V({{ koophone_region }}-{{ koophone_instance_name }}). A template that fails for a phone
        falls through to the next entry (with O(strict=true) the inventory fails instead).
      - Phones whose names collide are never dropped. Each of them gets C(_<instance_id>) appended and a warning
        names them; with O(strict=true) the inventory fails instead.
    type: list
    elements: str
    default: [instance_name, instance_id]
  default_groups:
    description:
      - Which groups to make from each phone, besides C(koophone) (every phone).
      - V(region) makes C(<prefix>region_<region>), V(sku) C(<prefix>sku_<instance sku>), V(running_status)
        C(<prefix>status_<running status name>), V(assign_status) C(<prefix>assigned) or C(<prefix>unassigned), and
        V(assign_user) C(<prefix>user_<assign_user>) for assigned phones (one group per user, so it is not on by
        default). Names are lower case with every run of other characters turned into C(_).
      - Use V([]) for none and build your own with O(keyed_groups) and O(groups).
    type: list
    elements: str
    choices: [region, sku, running_status, assign_status, assign_user]
    default: [region, sku, running_status, assign_status]
  group_prefix:
    description: Prefix of the names of the O(default_groups).
    type: str
    default: koophone_
  connection_vars:
    description:
      - Variables set on the C(koophone) group, which holds every phone. The default makes tasks run on the
        controller with the Python that runs Ansible, where the C(koophone.cloud) modules talk to the API.
      - They are group variables, so C(group_vars/koophone.yml), C(host_vars) and more specific groups override
        them. Use V({}) to set none.
      - String values are templates evaluated when a play runs (they come from this file, which you trust), for
        example V({{ ansible_playbook_python }}); interpreter discovery would otherwise pick whatever C(python3)
        comes first on the controller's PATH, which may be a pyenv shim that cannot run.
    type: dict
    default:
      ansible_connection: local
      ansible_python_interpreter: "{{ ansible_playbook_python }}"
extends_documentation_fragment:
  - koophone.cloud.koophone.PLUGINS
  - ansible.builtin.constructed
  - ansible.builtin.inventory_cache
notes:
  - The O(compose), O(groups) and O(keyed_groups) templates see the phone's C(koophone_*) variables.
  - With O(cache=true) the raw batch-query items are cached, not the hosts, so changing O(compose), O(groups),
    O(keyed_groups), O(hostnames), the client-side filters or O(default_groups) needs no refresh. Changing the
    endpoint, the credentials (project, user, access key, or the token itself, of which only a SHA-256 digest is
    stored) or a server-side filter reads the API again. C(--flush-cache) forces a read.
  - With C(-vvv) the plugin reports how many phones it read, from how many requests, and how long it took.
  - Credentials come from this file or from the same C(KOOPHONE_*) environment variables the modules honour, which
    is how an AWX custom credential type injects them.
  - Pages are read by offset, as the API offers. A phone created or deleted while the pages are read can shift the
    others between pages; a phone seen twice is kept once, and the next inventory run sees the fleet as it is.
requirements:
  - requests
"""

EXAMPLES = r"""
# koophone.yml: every phone, credentials from KOOPHONE_* environment variables
plugin: koophone.cloud.koophone

---
# prod.koophone.yml: running phones in two regions, named by id, with extra groups
plugin: koophone.cloud.koophone
endpoint: https://koophone.myhuaweicloud.com
regions: [cn-north-4, cn-north-7]
running_status: [running]
hostnames: [instance_id]
keyed_groups:
  - key: koophone_billing_mode
    prefix: billing
compose:
  phone_label: koophone_instance_name ~ ' (' ~ koophone_region ~ ')'
groups:
  frozen: koophone_frozen_status == 1

---
# games.koophone.yml: phones named game-*, except those of test users and frozen ones, cached for an hour
plugin: koophone.cloud.koophone
name_patterns: ["game-*"]
exclude_filters:
  - assign_user: "test-*"
  - "koophone_frozen_status == 1"
cache: true
cache_plugin: ansible.builtin.jsonfile
cache_connection: ~/.cache/koophone-inventory
cache_timeout: 3600

---
# assigned.koophone.yml: assigned phones, or unassigned ones of the pool-* series; one group per user
plugin: koophone.cloud.koophone
include_filters:
  - assign_status: assigned
  - "koophone_assign_status == 0 and (koophone_instance_name is match('pool-'))"
default_groups: [region, running_status, assign_user]

---
# emulator.koophone.yml: the bundled emulator, token auth
plugin: koophone.cloud.koophone
endpoint: http://127.0.0.1:8780
auth_token: demo-token
"""

import base64
import hashlib
import json
import time
import zlib

from ansible import constants as C  # noqa: N812  (the name ansible-core itself uses)
from ansible.errors import AnsibleError, AnsibleParserError
from ansible.inventory.host import Host
from ansible.plugins.inventory import BaseInventoryPlugin, Cacheable, Constructable
from ansible.template import trust_as_template
from ansible.utils.display import Display
from ansible.utils.path import basedir

from ansible_collections.koophone.cloud.plugins.module_utils import _inventory as fleet
from ansible_collections.koophone.cloud.plugins.module_utils import _operations as operations
from ansible_collections.koophone.cloud.plugins.module_utils import _validation as validation
from ansible_collections.koophone.cloud.plugins.module_utils._client import (
    HAS_REQUESTS,
    REQUESTS_IMPORT_ERROR,
    KooPhoneClient,
)
from ansible_collections.koophone.cloud.plugins.module_utils._errors import InvalidOption, KooPhoneError
from ansible_collections.koophone.cloud.plugins.module_utils._module import LIMITS

display = Display()

# The plugins doc fragment's options, passed to the shared client as they are.
CLIENT_OPTIONS = (
    "endpoint",
    "auth_token",
    "access_key",
    "secret_key",
    "security_token",
    "project_id",
    "username",
    "password",
    "domain_name",
    "project_name",
    "iam_endpoint",
    "token_cache_dir",
    "validate_certs",
    "ca_path",
    "timeout",
    "retries",
    "concurrency",
)
SERVER_FILTERS = ("instance_name", "pool_scene_tag", "pool_name", "query_start_time", "query_end_time")
# What identifies whose fleet a cache entry holds. Never a secret itself: a given token is
# represented by its SHA-256 digest, and the secret key and password not at all.
CACHE_IDENTITY = ("endpoint", "project_id", "project_name", "domain_name", "username", "access_key")
CACHE_FORMAT = 2  # 2: items as base64(zlib(JSON))
# The variables InventoryData.add_host sets on every new host: the inventory source it came from.
SOURCE_VARS = ("inventory_file", "inventory_dir")


class InventoryModule(BaseInventoryPlugin, Constructable, Cacheable):
    NAME = "koophone.cloud.koophone"

    def verify_file(self, path):
        return super().verify_file(path) and path.endswith(("koophone.yml", "koophone.yaml"))

    def parse(self, inventory, loader, path, cache=True):
        super().parse(inventory, loader, path, cache)
        self._read_config_data(path)
        started = time.perf_counter()
        phones = _Phones(self)
        try:
            phones.selection = self._check_options(phones.evaluate)
            # Pages are prepared as they arrive; nothing touches the inventory until every page is in,
            # so a read that fails half-way leaves no half-built inventory behind.
            items, requests = self._snapshot(path, cache, phones.prepare)
            read = time.perf_counter()
            hosts = self._attach(phones)
        except InvalidOption as error:
            raise AnsibleParserError("%s: invalid option %s" % (self.NAME, error)) from None
        except KooPhoneError as error:
            raise AnsibleParserError("%s: reading the fleet failed: %s" % (self.NAME, error)) from None
        phones.warn_failed_expressions()
        finished = time.perf_counter()
        display.vvv(
            "%s: %d phones read (%s), %d hosts added; %.3f s (read %.3f s, build %.3f s)"
            % (
                self.NAME,
                len(items),
                "%d API requests" % requests if requests is not None else "from the cache",
                hosts,
                finished - started,
                read - started,
                finished - read,
            )
        )

    # ---------------------------------------------------------------- options

    def _check_options(self, evaluate):
        """Check every limit before any request; return the client-side selection predicate (None: keep all).

        ``evaluate(option, expression, item)`` decides the Jinja entries of include/exclude_filters.
        """
        if not HAS_REQUESTS:
            raise AnsibleError("%s needs the Python library requests: %s" % (self.NAME, REQUESTS_IMPORT_ERROR))
        for option, (low, high) in LIMITS.items():
            validation.check_range(option, self.get_option(option), low, high)
        validation.check_range("page_size", self.get_option("page_size"), 1, operations.LIST_INSTANCES_PAGE_SIZE[1])
        validation.check_length("instance_name", self.get_option("instance_name"), 128)
        validation.check_length("pool_name", self.get_option("pool_name"), 128)
        start, end = self.get_option("query_start_time"), self.get_option("query_end_time")
        validation.check_query_time("query_start_time", start)
        validation.check_query_time("query_end_time", end)
        if start and end and end < start:  # the fixed-width format sorts like the times it spells
            raise InvalidOption("query_end_time", "is earlier than query_start_time")
        fleet.check_hostnames("hostnames", self.get_option("hostnames"))
        if not isinstance(self.get_option("connection_vars"), dict):
            raise InvalidOption("connection_vars", "must be a dictionary of variable: value")
        return fleet.compile_selection(
            {
                "running_status": ("running_status", self.get_option("running_status")),
                "regions": ("region", self.get_option("regions")),
                "assign_status": ("assign_status", self.get_option("assign_status")),
                "name_patterns": ("instance_name", self.get_option("name_patterns")),
            },
            self.get_option("include_filters"),
            self.get_option("exclude_filters"),
            lambda option, expression: lambda item: evaluate(option, expression, item),
        )

    def _server_query(self):
        return dict((name, self.get_option(name)) for name in SERVER_FILTERS if self.get_option(name))

    # ---------------------------------------------------------------- reading the fleet

    def _snapshot(self, path, cache, prepare):
        """(items, requests sent): the raw batch-query items, from the cache when allowed and valid.

        ``prepare(page_no, items)`` gets them too: page by page as they arrive from the API, or all
        at once (as page 1) from the cache.
        """
        use_cache = self.get_option("cache")
        key = self.get_cache_key(path)
        fingerprint = self._fingerprint()
        if use_cache and cache:
            items = _cached_items(self._cache, key, fingerprint)
            if items is not None:
                prepare(1, items)
                return items, None
        client = KooPhoneClient(dict((name, self.get_option(name)) for name in CLIENT_OPTIONS))
        pages = {}

        def arrived(page_no, items):
            pages[page_no] = items
            prepare(page_no, items)

        client.list_all(
            "ListInstances", self._server_query(), self.get_option("page_size"), key="instance_id", on_page=arrived
        )
        # The snapshot is what was handed over, in page order: the hosts and the cache hold the same phones.
        items = [item for page_no in sorted(pages) for item in pages[page_no]]
        if use_cache:
            self._cache[key] = {"format": CACHE_FORMAT, "fingerprint": fingerprint, "items": _pack(items)}
        return items, client.request_count

    def _fingerprint(self):
        """Whose fleet, read with which server-side filters: a cache entry serves only the same."""
        identity = dict((name, self.get_option(name)) for name in CACHE_IDENTITY)
        token = self.get_option("auth_token")
        identity["auth_token_sha256"] = hashlib.sha256(token.encode("utf-8")).hexdigest() if token else None
        return json.dumps({"identity": identity, "query": self._server_query()}, sort_keys=True)

    # ---------------------------------------------------------------- building the inventory

    def _attach(self, phones):
        """Add the prepared phones to the inventory, with their groups; return how many."""
        names, instance_ids, prepared_hosts, default_groups = phones.in_page_order()
        hostnames = self._final_hostnames(names, instance_ids)
        inventory = self.inventory
        all_phones = inventory.add_group(fleet.ALL_PHONES_GROUP)
        for name, value in self.get_option("connection_vars").items():
            inventory.set_variable(all_phones, name, _trusted(value))

        strict = self.get_option("strict")
        compose, groups, keyed = (self.get_option(name) for name in ("compose", "groups", "keyed_groups"))
        constructed = bool(compose or groups or keyed)
        hosts = inventory.hosts  # the dict itself: each attribute read through the inventory proxy costs
        # The Group objects for each distinct tuple of default group names, "koophone" first.
        members = {}
        for hostname, host, group_names in zip(hostnames, prepared_hosts, default_groups):
            if hostname == host.name and hostname not in hosts and hostname not in C.LOCALHOST:
                hosts[host.name] = host  # the prepared Host as it is: see _add_host
            else:
                host = self._add_host(hostname, host)
            targets = members.get(group_names)
            if targets is None:
                targets = members[group_names] = [
                    inventory.groups[inventory.add_group(group)] for group in (all_phones,) + group_names
                ]
            for group in targets:
                group.add_host(host)
            if constructed:
                # A copy, as Constructable expects: compose entries must not see each other's results.
                variables = dict(host.vars)
                self._set_composite_vars(compose, variables, host.name, strict=strict)
                self._add_host_to_composed_groups(groups, variables, host.name, strict=strict)
                self._add_host_to_keyed_groups(keyed, variables, host.name, strict=strict)
        return len(hostnames)

    def _final_hostnames(self, names, instance_ids):
        """One distinct hostname per phone; colliding names get the instance id (a warning), or fail with strict."""
        try:
            hostnames, collisions = fleet.unique_hostnames(names, instance_ids, self.get_option("strict"))
        except fleet.HostnameCollision as error:
            raise AnsibleParserError("%s: %s (strict is on)" % (self.NAME, error)) from None
        if collisions:
            display.warning(
                "%s: %s; each got its instance id appended" % (self.NAME, fleet.describe_collisions(collisions))
            )
        return hostnames

    def _add_host(self, hostname, prepared):
        """Add a prepared phone whose Host cannot go into the inventory as it is; return its Host.

        InventoryData.add_host and set_variable cost ~15 us a host and ~3 us a variable (the trust
        visitor, a variable name check and a debug line each, two stat calls for inventory_dir): at
        10,000 phones that is most of a warm run. So _Phones builds each Host as add_host would,
        with the same inventory_file and inventory_dir, and _attach puts it straight into
        InventoryData.hosts, the dict add_host itself fills. This is the way for the rest: a phone
        whose name had to change gets a new Host, and names add_host treats specially (a localhost
        alias, a host another inventory source already added) go through add_host.
        """
        if hostname in self.inventory.hosts or hostname in C.LOCALHOST:
            host = self.inventory.get_host(self.inventory.add_host(hostname))
            # add_host set (or, for a host of another source, kept) inventory_file and inventory_dir.
            host.vars.update((name, value) for name, value in prepared.vars.items() if name not in SOURCE_VARS)
            return host
        renamed = Host(hostname)
        renamed.vars = prepared.vars
        self.inventory.hosts[renamed.name] = renamed
        return renamed


class _Phones:
    """The selected phones, prepared for the inventory page by page: everything except adding them.

    For each phone that passes the selection it keeps the preferred hostname, a ready Host with
    the phone's variables, and the default groups it belongs in. Only the final hostnames need
    every phone (collisions), so the plugin attaches the hosts once the whole snapshot is in, in
    page order whatever order the pages arrived in (host order decides play order).
    """

    def __init__(self, plugin):
        self.plugin = plugin
        self.selection = None  # set once the options are checked (InventoryModule._check_options); None keeps all
        self.templar = plugin.templar
        self.strict = plugin.get_option("strict")
        self.preferred_name = fleet.HostnamePreferences(plugin.get_option("hostnames"), self.render_hostname)
        self.groups_of = fleet.DefaultGroups(plugin.get_option("default_groups"), plugin.get_option("group_prefix"))
        source = plugin.inventory.current_source
        # Every host also gets what InventoryData.add_host would set: the inventory source it came from.
        self.build_vars = fleet.HostVarsBuilder(zip(SOURCE_VARS, (source, basedir(source) if source else None)))
        self.pages = {}
        self.expression_failures = {}

    def prepare(self, page_no, items):
        """Prepare one page's phones (10,000 phones pass through here: no work that could be hoisted)."""
        selection, build_vars, preferred_name, groups_of = (
            self.selection,
            self.build_vars,
            self.preferred_name,
            self.groups_of,
        )
        prepared = self.pages[page_no] = []
        for item in items:
            if not item.get("instance_id") or (selection is not None and not selection(item)):
                continue
            name = preferred_name(item)
            host = Host(name)
            host.vars = build_vars(item)
            prepared.append((name, item["instance_id"], host, groups_of(item)))

    def in_page_order(self):
        """(preferred names, instance ids, hosts, default group names), four lists in page order."""
        phones = [phone for page_no in sorted(self.pages) for phone in self.pages[page_no]]
        return tuple(list(column) for column in zip(*phones)) if phones else ([], [], [], [])

    def render_hostname(self, template, item):
        self.templar.available_variables = self.build_vars(item)
        try:
            return self.templar.template(template)
        except Exception as error:  # an undefined variable, a filter error: try the next preference
            if self.strict:
                raise AnsibleParserError(
                    "%s: hostname template %r failed for %s: %s"
                    % (self.plugin.NAME, template, item["instance_id"], error)
                ) from None
            return None

    def evaluate(self, option, expression, item):
        """A Jinja conditional from include/exclude_filters, for one phone.

        The expression comes from the inventory file, so ansible-core already marked it trusted;
        the phone's variables are API data and stay untrusted: compared, never evaluated.
        """
        self.templar.available_variables = self.build_vars(item)
        try:
            return bool(self.templar.evaluate_conditional(expression))
        except Exception as error:  # undefined variable, type error, ...: "does not match"
            if self.strict:
                raise AnsibleParserError(
                    "%s: %s entry %r failed for phone %s: %s"
                    % (self.plugin.NAME, option, expression, item["instance_id"], error)
                ) from None
            self.expression_failures.setdefault((option, expression), [item["instance_id"], error, 0])[2] += 1
            return False

    def warn_failed_expressions(self):
        # One warning per expression, not one per phone: at 10,000 phones anything else drowns the output.
        for (option, expression), (instance_id, error, count) in sorted(self.expression_failures.items()):
            display.warning(
                "%s: %s entry %r could not be evaluated for %d phone(s), which count as not matching "
                "(first: %s: %s); set strict: true to fail instead"
                % (self.plugin.NAME, option, expression, count, instance_id, error)
            )


def _cached_items(cache, key, fingerprint):
    """The items of a valid cache entry for this configuration, else None (a miss, never an error)."""
    try:
        record = cache.get(key)
    except Exception:  # an unreadable cache file is a miss: the API is the source of truth
        return None
    if not isinstance(record, dict) or record.get("format") != CACHE_FORMAT or record.get("fingerprint") != fingerprint:
        return None
    try:
        items = _unpack(record["items"])
    except (KeyError, TypeError, ValueError, zlib.error):
        return None
    return items if isinstance(items, list) else None


# The cache holds the items as one compressed JSON text, not as 10,000 dicts. The cache adjudicator
# deep-copies what it stores, and on ansible-core 2.19+ the cache layers JSON-encode the record
# twice more: a dict per phone, or a plain JSON text whose every quote is escaped twice, costs more
# to read back than the rest of a warm run. Compressed, the text is also ~10x smaller on disk.
def _pack(items):
    text = json.dumps(items, separators=(",", ":"))
    return base64.b64encode(zlib.compress(text.encode("utf-8"), 1)).decode("ascii")


def _unpack(packed):
    return json.loads(zlib.decompress(base64.b64decode(packed, validate=True)).decode("utf-8"))


def _trusted(value):
    """Mark a string from the plugin's configuration as a template (ansible-core 2.19 trust).

    Strings a plugin sets are untrusted by default, so "{{ ansible_playbook_python }}" would stay
    literal text; these come from the inventory file (or the documented default), never from the API.
    """
    return trust_as_template(value) if isinstance(value, str) else value

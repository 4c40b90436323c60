# Copyright: (c) 2026, koophone.cloud contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

DOCUMENTATION = r"""
name: koophone
short_description: KooPhone cloud phones as Ansible hosts
version_added: 0.1.0
description:
  - Reads every KooPhone cloud phone of the tenant from the batch-query API (C(GET /v1/instances/batch-query))
    and adds one host per phone, with C(koophone_*) host variables from its batch-query fields (the few plays use by
    default, every field with O(hostvars=full)) and groups by region, SKU, running status and assignment.
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
  hostvars:
    description:
      - Which batch-query fields each host gets as C(koophone_*) host variables. Entries add up.
      - V(lean) (the default) is what plays use, 6 variables - C(koophone_instance_id) (what every module's
        C(instance_ids) takes), C(koophone_instance_name), C(koophone_region), C(koophone_running_status),
        C(koophone_assign_status) and C(koophone_assign_user). The readable status names (for example
        V(running_status_name)) are not in it; the default groups (C(koophone_status_running),
        C(koophone_assigned), ...) carry them, and V([lean, running_status_name, assign_status_name]) sets them.
      - V(full) is every field batch-query returns (a field the API adds later too) with a readable C(_name) beside
        each status number, about 29 variables; what the plugin set before this option existed.
      - Any other entry names one variable, a batch-query field (V(billing_mode), V(koophone_frozen_status)) or a
        status name (V(frozen_status_name)), for example V([lean, billing_mode, frozen_status_name]). V([]) sets
        C(koophone_instance_id) only.
      - The cost is ansible-core's, on every run, for every host and every variable, the plugin's share being small.
        ansible-core merges, copies and (for C(ansible-inventory --list)) prints each host's variables, and more
        variables also make every play that loads the inventory start more slowly. For scale, at 10,000 phones
        C(ansible-inventory --list) writes about 29 MB of JSON with V(full) and 10 MB with V(lean), and takes about
        1.5 times as long; the collection's C(docs/inventory.md) has the measured figures.
      - Only what is set as host variables changes. The templates of O(compose), O(groups), O(keyed_groups) and
        O(hostnames), and the Jinja entries of O(include_filters) and O(exclude_filters), always see every field
        and status name, whatever this option says; a O(compose) entry sets its result as usual.
    type: list
    elements: str
    default: [lean]
    version_added: 0.1.0
    env:
      - name: KOOPHONE_INVENTORY_HOSTVARS
  fast_path:
    description:
      - How the phones go into the inventory. Either way gives the same hosts, groups and variables; only the
        speed differs.
      - V(auto) puts each prepared host straight into the inventory's table of hosts, as C(add_host) would, when
        a check at every run shows that this ansible-core's inventory behaves as the plugin expects, and uses the
        public inventory API otherwise. At 10,000 phones the fast path builds the inventory in about 0.06 s, the
        public API in about 2 s (one C(set_variable) call per host variable).
      - V(always) insists on the fast path and fails when the check does not pass; V(never) always uses the
        public inventory API (C(add_group), C(add_host), C(set_variable)).
    type: str
    choices: [auto, always, never]
    default: auto
    env:
      - name: KOOPHONE_INVENTORY_FAST_PATH
extends_documentation_fragment:
  - koophone.cloud.koophone.PLUGINS
  - ansible.builtin.constructed
  - ansible.builtin.inventory_cache
notes:
  - The O(compose), O(groups) and O(keyed_groups) templates see every one of the phone's C(koophone_*) variables,
    including those O(hostvars) does not set.
  - With O(cache=true) the raw batch-query items are cached, not the hosts, so changing O(compose), O(groups),
    O(keyed_groups), O(hostnames), the client-side filters or O(default_groups) needs no refresh. Changing the
    endpoint, the credentials (project, user, access key, or the token itself, of which only a SHA-256 digest is
    stored) or a server-side filter reads the API again. C(--flush-cache) forces a read.
  - With C(-vvv) the plugin reports how many phones it read, from how many requests, how long it took, and whether
    the hosts went in by the fast path or the public inventory API (see O(fast_path)).
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
# full.koophone.yml: every batch-query field as a host variable (slower at thousands of phones)
plugin: koophone.cloud.koophone
hostvars: full

---
# lean-plus.koophone.yml: the lean variables, and the billing mode and frozen state too
plugin: koophone.cloud.koophone
hostvars: [lean, billing_mode, frozen_status, frozen_status_name]

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
import difflib
import functools
import hashlib
import json
import time
import zlib

from ansible import constants as C  # noqa: N812  (the name ansible-core itself uses)
from ansible.errors import AnsibleError, AnsibleParserError, AnsibleTemplateSyntaxError
from ansible.inventory.data import InventoryData
from ansible.inventory.host import Host
from ansible.plugins.inventory import BaseInventoryPlugin, Cacheable, Constructable
from ansible.template import is_trusted_as_template, trust_as_template
from ansible.utils.display import Display
from ansible.utils.path import basedir

from ansible_collections.koophone.cloud.plugins.module_utils import _inventory as fleet
from ansible_collections.koophone.cloud.plugins.module_utils import _operations as operations
from ansible_collections.koophone.cloud.plugins.module_utils import _options as common
from ansible_collections.koophone.cloud.plugins.module_utils import _validation as validation
from ansible_collections.koophone.cloud.plugins.module_utils._client import (
    HAS_REQUESTS,
    REQUESTS_IMPORT_ERROR,
    KooPhoneClient,
)
from ansible_collections.koophone.cloud.plugins.module_utils._errors import InvalidOption, KooPhoneError

display = Display()

# The plugins doc fragment's options (the common options), passed to the shared client as they are.
CLIENT_OPTIONS = common.NAMES
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
        config = self._read_config_data(path)
        self._check_keys(config, path)
        started = time.perf_counter()
        phones = _Phones(self)
        try:
            phones.selection = self._check_options(phones.evaluate, phones.check_expression)
            phones.choose_hostvars(self._hostvar_fields)
            phones.direct = self._use_fast_path()
            # Pages are prepared as they arrive; nothing touches the inventory until every page is in,
            # so a read that fails half-way leaves no half-built inventory behind.
            items, requests = self._snapshot(path, cache, phones.prepare)
            read = time.perf_counter()
            hosts = self._attach(phones)
        except InvalidOption as error:
            raise AnsibleParserError("%s: invalid option %s" % (self.NAME, error)) from None
        except KooPhoneError as error:
            raise AnsibleParserError("%s: reading the fleet failed: %s" % (self.NAME, error)) from None
        phones.warn_renamed()
        phones.warn_failed_expressions()
        finished = time.perf_counter()
        display.vvv(
            "%s: %d phones read (%s), %d hosts added; %.3f s (read %.3f s, build %.3f s); by the %s"
            % (
                self.NAME,
                len(items),
                "%d API requests" % requests if requests is not None else "from the cache",
                hosts,
                finished - started,
                read - started,
                finished - read,
                "fast path" if phones.direct else "public inventory API",
            )
        )

    # ---------------------------------------------------------------- options

    def _check_keys(self, config, path):
        """A misspelt option would be ignored (a filter that filters nothing): refuse unknown keys."""
        unknown = sorted("%s" % key for key in config or {} if key != "plugin" and key not in self._options)
        if unknown:
            hints = [
                "%s (did you mean %s?)" % (key, close[0]) if close else key
                for key, close in ((key, difflib.get_close_matches(key, list(self._options), 1)) for key in unknown)
            ]
            raise AnsibleParserError("%s: unknown option(s) in %s: %s" % (self.NAME, path, ", ".join(hints)))

    def _check_options(self, evaluate, check_expression):
        """Check every limit before any request; return the client-side selection predicate (None: keep all).

        ``evaluate(option, expression, item)`` decides the Jinja entries of include/exclude_filters.
        """
        if not HAS_REQUESTS:
            raise AnsibleError("%s needs the Python library requests: %s" % (self.NAME, REQUESTS_IMPORT_ERROR))
        common.check_tuning(dict((name, self.get_option(name)) for name in common.LIMITS))
        validation.check_range("page_size", self.get_option("page_size"), 1, operations.LIST_INSTANCES_PAGE_SIZE[1])
        validation.check_length("instance_name", self.get_option("instance_name"), 128)
        validation.check_length("pool_name", self.get_option("pool_name"), 128)
        start, end = self.get_option("query_start_time"), self.get_option("query_end_time")
        validation.check_query_time("query_start_time", start)
        validation.check_query_time("query_end_time", end)
        if start and end and end < start:  # the fixed-width format sorts like the times it spells
            raise InvalidOption("query_end_time", "is earlier than query_start_time")
        fleet.check_hostnames("hostnames", self.get_option("hostnames"))
        self._hostvar_fields = fleet.hostvar_fields("hostvars", self.get_option("hostvars"))
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
            lambda option, expression: _checked_expression(option, expression, evaluate, check_expression),
        )

    def _server_query(self):
        return dict((name, self.get_option(name)) for name in SERVER_FILTERS if self.get_option(name))

    def _use_fast_path(self):
        """Whether the hosts go in by the fast path (see fast_path_problem), as the fast_path option says."""
        mode = self.get_option("fast_path")  # one of auto, always, never: ansible-core checks the choices
        if mode == "never":
            return False
        problem = fast_path_problem(self.inventory)
        if problem is None:
            return True
        if mode == "always":
            raise InvalidOption("fast_path", "is always, but this ansible-core does not allow it: %s" % problem)
        display.vvv("%s: using the public inventory API, not the fast path: %s" % (self.NAME, problem))
        return False

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
        """Add the prepared phones to the inventory, with their groups and constructed vars; return how many."""
        names, instance_ids, prepared, default_groups, items = phones.in_page_order()
        hostnames = self._final_hostnames(names, instance_ids)
        inventory = self.inventory
        all_phones = inventory.add_group(fleet.ALL_PHONES_GROUP)
        for name, value in self.get_option("connection_vars").items():
            inventory.set_variable(all_phones, name, _trusted(value))
        if phones.direct:
            added = self._attach_directly(all_phones, hostnames, prepared, default_groups)
        else:
            added = self._attach_through_the_api(all_phones, hostnames, prepared, default_groups)

        strict = self.get_option("strict")
        compose, groups, keyed = (self.get_option(name) for name in ("compose", "groups", "keyed_groups"))
        if compose or groups or keyed:
            every_field = phones.build_vars if phones.lean else None
            for host, item in zip(added, items):
                # A copy, as Constructable expects: compose entries must not see each other's results.
                # The templates see every field, also those the hostvars option leaves unset.
                if every_field is None:
                    variables = dict(host.vars)
                else:
                    variables = every_field(item)
                    variables.update(host.vars)
                self._set_composite_vars(compose, variables, host.name, strict=strict)
                self._add_host_to_composed_groups(groups, variables, host.name, strict=strict)
                self._add_host_to_keyed_groups(keyed, variables, host.name, strict=strict)
        return len(added)

    def _attach_through_the_api(self, all_phones, hostnames, variables, default_groups):
        """The public inventory API: add_host (into each group), and set_variable for each variable.

        add_host sets inventory_file and inventory_dir itself (and keeps those of a host another
        source added first), so the prepared copies of them are not set again. Hosts go into groups
        with add_host(group=...), not add_child, which would take a phone named like a group for
        that group; for the same reason the variables of such a phone are set on its Host.
        """
        inventory = self.inventory
        group_names = {}  # default group name -> the name add_group gave it
        added = []
        for hostname, host_vars, groups in zip(hostnames, variables, default_groups):
            hostname = inventory.add_host(hostname, group=all_phones)
            host = inventory.get_host(hostname)
            if hostname in inventory.groups:
                set_variable = host.set_variable
            else:
                set_variable = functools.partial(inventory.set_variable, hostname)
            for name, value in host_vars.items():
                if name not in SOURCE_VARS:
                    set_variable(name, value)
            for group in groups:
                if group not in group_names:
                    group_names[group] = inventory.add_group(group)
                inventory.add_host(hostname, group=group_names[group])
            added.append(host)
        return added

    def _attach_directly(self, all_phones, hostnames, prepared_hosts, default_groups):
        """The fast path: each prepared Host goes straight into InventoryData.hosts, as add_host would put it.

        InventoryData.add_host and set_variable cost ~20 us a host with its groups and ~6 us a
        variable (the trust visitor, a variable name check and a debug line each, two stat calls for
        inventory_dir): at 10,000 phones with 30 variables each that is ~1.9 s, against ~0.06 s here. _Phones built each
        Host as add_host would, with the same inventory_file and inventory_dir, and
        fast_path_problem checked that add_host does nothing more on this ansible-core. A phone whose
        name had to change gets a new Host; names add_host treats specially (a localhost alias, a
        host another inventory source already added) go through add_host.
        """
        inventory = self.inventory
        hosts = inventory.hosts  # the dict itself: each attribute read through the inventory proxy costs
        memberships = _Memberships()
        # For each distinct tuple of default group names: its Group objects ("koophone" first) and
        # their lists of hosts still to add (None when one of them takes its hosts one by one).
        members = {}
        added = []
        for hostname, host, group_names in zip(hostnames, prepared_hosts, default_groups):
            if hostname == host.name and hostname not in hosts and hostname not in C.LOCALHOST:
                hosts[hostname] = host  # the prepared Host as it is
            else:
                host = self._add_host(hostname, host)
            try:
                targets, pending = members[group_names]
            except KeyError:
                names = dict.fromkeys(inventory.add_group(group) for group in (all_phones,) + group_names)
                targets = [inventory.groups[name] for name in names]
                pending = memberships.pending(targets)
                members[group_names] = (targets, pending)
            if pending is not None and not host.groups:
                host.groups.extend(targets)
                for group_hosts in pending:
                    group_hosts.append(host)
            else:
                memberships.add(host, targets)
            added.append(host)
        memberships.finish()
        return added

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
        """The fast path for a phone whose prepared Host cannot go in as it is; return its Host.

        A host another source already added, or a localhost alias, goes through add_host (which
        keeps, or sets, inventory_file and inventory_dir) and gets the phone's variables; a phone
        whose name had to change gets a new Host.
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


class _Memberships:
    """The fast path's group memberships: each group's new hosts added in one go, as add_host would add them.

    Group.add_host costs ~1 us a call (two walks over the group's ancestors, a scan of the host's
    groups comparing Group objects): 50,000 calls for 10,000 phones in 5 groups, after the last page
    came in. A group that has no hosts, parents or children yet (one this run made, the usual case)
    only needs its hosts appended, in order, and a Host in no group yet only needs its groups
    (their ancestors: none): the same lists add_host makes, which fast_path_problem checks on its
    scratch host. Every other pair goes through Group.add_host or Host.add_group.
    """

    def __init__(self):
        self._pending = {}  # id(group) -> (group, its hosts still to add, or None: one by one)

    def pending(self, groups):
        """The lists of hosts still to add to these groups, or None when one of them takes hosts one by one."""
        lists = [self._hosts_of(group) for group in groups]
        return None if None in lists else lists

    def _hosts_of(self, group):
        try:
            return self._pending[id(group)][1]
        except KeyError:
            fresh = not (group.hosts or group.parent_groups or group.child_groups)
            self._pending[id(group)] = entry = (group, [] if fresh else None)
            return entry[1]

    def add(self, host, groups):
        """One host into these groups, for a host already in a group or a group not taking hosts in one go."""
        for group in groups:
            group_hosts = self._hosts_of(group)
            if group_hosts is None:
                group.add_host(host)
            else:
                group_hosts.append(host)
                host.add_group(group)

    def finish(self):
        for group, group_hosts in self._pending.values():
            if group_hosts:
                group.hosts.extend(group_hosts)
                group._hosts = None  # the set of host names: rebuilt from group.hosts when next asked for
                group.clear_hosts_cache()


def _checked_expression(option, expression, evaluate, check_expression):
    """A predicate for one conditional of include/exclude_filters, checked before any request."""
    check_expression(option, expression)
    return lambda item: evaluate(option, expression, item)


class _Phones:
    """The selected phones, prepared for the inventory page by page: everything except adding them.

    For each phone that passes the selection it keeps the preferred hostname, the phone's
    variables (for the fast path, a ready Host with them), and the default groups it belongs in.
    Only the final hostnames need every phone (collisions), so the plugin attaches the hosts once
    the whole snapshot is in, in page order whatever order the pages arrived in (host order
    decides play order).
    """

    def __init__(self, plugin):
        self.plugin = plugin
        self.selection = None  # set once the options are checked (InventoryModule._check_options); None keeps all
        self.direct = False  # True: prepare ready Hosts for the fast path (InventoryModule._use_fast_path)
        self.templar = plugin.templar
        self.strict = plugin.get_option("strict")
        self.preferred_name = fleet.HostnamePreferences(plugin.get_option("hostnames"), self.render_hostname)
        self.groups_of = fleet.DefaultGroups(plugin.get_option("default_groups"), plugin.get_option("group_prefix"))
        source = plugin.inventory.current_source
        # Every host also gets what InventoryData.add_host would set: the inventory source it came from.
        self.source_vars = dict(zip(SOURCE_VARS, (source, basedir(source) if source else None)))
        # Every field, for the templates (hostnames, Jinja filters, compose and friends); the host
        # variables themselves come from host_vars, which the hostvars option may make leaner.
        self.build_vars = fleet.HostVarsBuilder(self.source_vars)
        self.host_vars = self.build_vars
        self.lean = False
        self.pages = {}
        self.expression_failures = {}
        self.renamed = []  # (instance id, why its preferred name could not be a host name)

    def choose_hostvars(self, fields):
        """Set only these fields as host variables (fleet.hostvar_fields; None: every field)."""
        self.lean = fields is not None
        self.host_vars = fleet.HostVarsBuilder(self.source_vars, fields) if self.lean else self.build_vars

    def prepare(self, page_no, items):
        """Prepare one page's phones (10,000 phones pass through here: no work that could be hoisted)."""
        selection, host_vars, preferred_name, groups_of, direct = (
            self.selection,
            self.host_vars,
            self.preferred_name,
            self.groups_of,
            self.direct,
        )
        prepared = self.pages[page_no] = []
        for item in items:
            if not item.get("instance_id") or (selection is not None and not selection(item)):
                continue
            name, problem = preferred_name(item)
            if problem is not None:
                self.renamed.append((item["instance_id"], problem))
            entry = host_vars(item)
            if direct:
                host = Host(name)
                host.vars = entry
                entry = host
            prepared.append((name, item["instance_id"], entry, groups_of(item), item))

    def in_page_order(self):
        """(preferred names, instance ids, variables or Hosts, default group names, items), five lists in page order."""
        phones = [phone for page_no in sorted(self.pages) for phone in self.pages[page_no]]
        return tuple(list(column) for column in zip(*phones)) if phones else ([], [], [], [], [])

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

    def check_expression(self, option, expression):
        """Refuse, before the fleet is read, a conditional that cannot work for any phone: bad syntax, an
        unknown filter or test. It is tried once on a phone whose every field is empty; what depends
        on the values (an undefined variable, a type error) is left to each phone."""
        self.templar.available_variables = self.build_vars(dict.fromkeys(fleet.FIELDS))
        try:
            self.templar.evaluate_conditional(expression)
        except AnsibleTemplateSyntaxError as error:
            raise InvalidOption(option, "entry %r is not a valid Jinja expression: %s" % (expression, error)) from None
        except Exception:  # noqa: S110  # pylint: disable=broad-except  # value-dependent: judged per phone
            pass

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

    def warn_renamed(self):
        if self.renamed:
            display.warning(
                "%s: %d phone(s) are named by their instance id instead: %s"
                % (self.plugin.NAME, len(self.renamed), validation.some("%s: name %s" % pair for pair in self.renamed))
            )

    def warn_failed_expressions(self):
        # One warning per expression, not one per phone: at 10,000 phones anything else drowns the output.
        for (option, expression), (instance_id, error, count) in sorted(self.expression_failures.items()):
            display.warning(
                "%s: %s entry %r could not be evaluated for %d phone(s), which count as not matching "
                "(first: %s: %s); set strict: true to fail instead"
                % (self.plugin.NAME, option, expression, count, instance_id, error)
            )


# -------------------------------------------------------------------- the fast path's check

# The scratch host, group and variable the check builds (never in the real inventory).
PROBE_HOST = "koophone-probe"
PROBE_GROUP = "koophone_probe"
PROBE_VAR = "koophone_probe_var"


def fast_path_problem(inventory):
    """Why the fast path cannot be used on this inventory and ansible-core, or None when it can.

    The fast path relies on three things ansible-core does not promise: that the inventory keeps
    its hosts and groups in plain dictionaries of Host and Group objects; that add_host does no
    more than make a Host, give it inventory_file and inventory_dir and put it in that dictionary;
    and that a string the plugin puts in a host's variables without set_variable is not trusted as
    a template. So it checks them, every run (~0.1 ms): it builds one host the public way and the
    fast way in two scratch inventories and compares everything they hold. Anything unexpected
    (a wrapper that overrides add_host, a new attribute add_host maintains, a missing one) is a
    problem, and the plugin uses the public API instead (or fails with fast_path=always).
    """
    try:
        return _shape_problem(inventory) or _probe_problem(inventory.current_source)
    except Exception as error:  # an attribute that is gone, a changed signature: not this ansible-core's shape
        return "checking it failed: %s: %s" % (type(error).__name__, error)


def _shape_problem(inventory):
    if not isinstance(inventory, InventoryData):
        return "the inventory is a %s, not an InventoryData" % type(inventory).__name__
    # Exactly dict: a subclass could do more on item assignment than the fast path knows of.
    if type(inventory.hosts) is not dict or type(inventory.groups) is not dict:  # pylint: disable=unidiomatic-typecheck
        return "InventoryData.hosts or .groups is not a dict"
    for cls in type(inventory).__mro__:  # a proxy or a subclass that does more in add_host would be bypassed
        if cls is InventoryData:
            break
        if "add_host" in vars(cls):
            return "%s overrides add_host" % cls.__name__
    if is_trusted_as_template("{{ probe }}"):
        return "a plain string is trusted as a template"
    return None


def _probe_problem(source):
    """Build one host the public way and the fast way in two scratch inventories; compare them."""
    public, direct = InventoryData(), InventoryData()
    for data in (public, direct):
        data.current_source = source
    public.add_group(PROBE_GROUP)
    public.add_host(PROBE_HOST, group=PROBE_GROUP)
    public.set_variable(PROBE_HOST, PROBE_VAR, "value")
    host = Host(PROBE_HOST)
    host.vars = dict(zip(SOURCE_VARS, (source, basedir(source) if source else None)), **{PROBE_VAR: "value"})
    direct.hosts[PROBE_HOST] = host
    memberships = _Memberships()
    group = direct.groups[direct.add_group(PROBE_GROUP)]
    memberships.pending([group])[0].append(host)  # as _attach_directly adds a new host to a new group
    host.groups.append(group)
    memberships.finish()
    for data in (public, direct):
        data.reconcile_inventory()
    by_api, by_fast_path = _probe_state(public), _probe_state(direct)
    differences = [
        "%s %r, not %r" % (part, by_api[part], by_fast_path[part])
        for part in by_api
        if by_api[part] != by_fast_path[part]
    ]
    if differences:
        return "add_host does more than the fast path does: %s" % "; ".join(differences)
    if direct.get_host(PROBE_HOST) is not host:
        return "InventoryData.get_host does not find a host put into InventoryData.hosts"
    return None


def _probe_state(data):
    """What an InventoryData holds, comparable between two of them: names, values and links, not identities."""

    def host_state(host):
        attributes = dict((name, value) for name, value in vars(host).items() if name not in ("_uuid", "groups"))
        return attributes, [group.name for group in host.groups]

    def group_state(group):
        attributes = dict(
            (name, value)
            for name, value in vars(group).items()
            if name not in ("hosts", "_hosts", "_hosts_cache", "child_groups", "parent_groups")
        )
        return (
            attributes,
            [host.name for host in group.get_hosts()],
            sorted(group.host_names),
            sorted(child.name for child in group.child_groups),
            sorted(parent.name for parent in group.parent_groups),
        )

    return {
        "hosts": dict((name, host_state(host)) for name, host in data.hosts.items()),
        "groups": dict((name, group_state(group)) for name, group in data.groups.items()),
        "localhost": data.localhost.name if data.localhost else None,
        "the groups magic variable": dict(data.get_groups_dict()),
        "inventory attributes": dict(
            (name, value) for name, value in vars(data).items() if name not in ("hosts", "groups", "localhost")
        ),
    }


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

# Copyright: (c) 2026, koophone.cloud contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# Generated from the one table of common options, plugins/module_utils/_options.py (OPTIONS),
# which also gives the modules their argument spec and the shared client its defaults. Edit the
# options there, then rewrite the two strings below with what doc_fragment() renders:
#   KOOPHONE_WRITE_DOC_FRAGMENT=1 .venv/bin/python -m pytest -q tests/unit/plugins/module_utils/test_options.py
# That test fails while they differ. (Static strings, not doc_fragment() calls: ansible-test's
# yamllint sanity test reads doc fragments without importing them and accepts only string literals.)


class ModuleDocFragment:
    # Common options of every koophone.cloud module, each with its KOOPHONE_* environment
    # variable named in the description, and the common notes and requirements.
    DOCUMENTATION = r"""
options:
  endpoint:
    description:
      - "Base URL of the KooPhone API: C(http://) or C(https://) and a host, checked before any request."
      - "A trailing C(/v1), as the API Explorer writes it, is accepted and removed (the operation paths carry it)."
      - "Use C(http://127.0.0.1:PORT) for the bundled emulator."
      - "If not set, the value of the environment variable E(KOOPHONE_ENDPOINT) is used."
    type: str
    default: "https://koophone.myhuaweicloud.com"
  auth_token:
    description:
      - "A project-scoped IAM token sent as C(X-Auth-Token)."
      - "Takes precedence over AK/SK signing and IAM password login."
      - "If not set, the value of the environment variable E(KOOPHONE_AUTH_TOKEN) is used."
    type: str
  access_key:
    description:
      - "Access key id for AK/SK request signing (C(SDK-HMAC-SHA256))."
      - "Requires O(secret_key). Used when O(auth_token) is not set."
      - "If not set, the value of the environment variable E(KOOPHONE_ACCESS_KEY) or E(HUAWEICLOUD_SDK_AK) is used."
    type: str
  secret_key:
    description:
      - "Secret access key for AK/SK request signing. Never logged."
      - "A signature the service refuses is never retried: the gateway locks an access key after repeated failures."
      - "If not set, the value of the environment variable E(KOOPHONE_SECRET_KEY) or E(HUAWEICLOUD_SDK_SK) is used."
    type: str
  security_token:
    description:
      - "Security token of temporary AK/SK credentials, sent as C(X-Security-Token)."
      - "If not set, the value of the environment variable E(KOOPHONE_SECURITY_TOKEN) or
        E(HUAWEICLOUD_SDK_SECURITY_TOKEN) is used."
    type: str
  project_id:
    description:
      - "Project id. Optional with AK/SK signing: sent as C(X-Project-Id) only when given."
      - "With IAM password login, scopes the token to this project (instead of O(project_name))."
      - "If not set, the value of the environment variable E(KOOPHONE_PROJECT_ID) or E(HUAWEICLOUD_SDK_PROJECT_ID) is
        used."
    type: str
  username:
    description:
      - "IAM user name for password login, used when neither O(auth_token) nor AK/SK is set."
      - "If not set, the value of the environment variable E(KOOPHONE_USERNAME) is used."
    type: str
  password:
    description:
      - "IAM user password for password login. Never logged and never written to the token cache."
      - "If not set, the value of the environment variable E(KOOPHONE_PASSWORD) is used."
    type: str
  domain_name:
    description:
      - "IAM account (domain) name the user belongs to, for password login."
      - "If not set, the value of the environment variable E(KOOPHONE_DOMAIN_NAME) is used."
    type: str
  project_name:
    description:
      - "Project name (for example V(cn-north-4)) the IAM token is scoped to."
      - "If not set, the value of the environment variable E(KOOPHONE_PROJECT_NAME) is used."
    type: str
  iam_endpoint:
    description:
      - "Base URL of IAM for password login (C(POST /v3/auth/tokens))."
      - "If not set, the value of the environment variable E(KOOPHONE_IAM_ENDPOINT) is used."
    type: str
    default: "https://iam.myhuaweicloud.com"
  token_cache_dir:
    description:
      - "Directory where IAM tokens from password login are cached (files mode 0600), so every task of a play reuses one
        login."
      - "Defaults to C($XDG_CACHE_HOME/koophone.cloud/tokens) or C(~/.cache/koophone.cloud/tokens)."
      - "Set to V(none) to disable the cache. Only the token and its expiry are stored, never the password."
      - "A cached token is renewed 40 minutes before it expires (or at 90% of its lifetime when that is shorter)."
      - "If not set, the value of the environment variable E(KOOPHONE_TOKEN_CACHE_DIR) is used."
    type: path
  validate_certs:
    description:
      - "Whether to verify the TLS certificate of O(endpoint) and O(iam_endpoint)."
      - "If not set, the value of the environment variable E(KOOPHONE_VALIDATE_CERTS) is used."
    type: bool
    default: true
  ca_path:
    description:
      - "A CA bundle to verify the endpoints' certificates with, instead of the system store."
      - "If not set, the value of the environment variable E(KOOPHONE_CA_PATH) is used."
    type: path
  timeout:
    description:
      - "Seconds to wait for one HTTP response (1 to 600)."
      - "If not set, the value of the environment variable E(KOOPHONE_TIMEOUT) is used."
    type: int
    default: 30
  retries:
    description:
      - "How many times a failed request is retried (0 to 20), with exponential backoff, full jitter and C(Retry-After)
        honoured."
      - "Throttling (HTTP 429) and connection failures before the request was sent are always retried."
      - "Server errors (5xx) and broken connections are retried only for operations that are safe to repeat;"
      - "a request that is not safe to repeat (create, commands, app install, reset, reboot, backup, assign) is never
        sent twice."
      - "One call never spends more than 300 seconds retrying."
      - "If not set, the value of the environment variable E(KOOPHONE_RETRIES) is used."
    type: int
    default: 6
  concurrency:
    description:
      - "How many requests run at once when a list of ids is split into chunks or a listing into pages (1 to 64)."
      - "If not set, the value of the environment variable E(KOOPHONE_CONCURRENCY) is used."
    type: int
    default: 8
notes:
  - "Credentials are chosen in this order: O(auth_token), then AK/SK signing (O(access_key) and O(secret_key), with
    O(project_id) when given), then IAM password login (O(username), O(password), O(domain_name), O(project_name) or
    O(project_id))."
  - "Every request carries a fresh C(x-request-id); error messages include it, with the operation, HTTP status,
    C(error_code) and C(error_msg)."
  - "Instance and user ids are checked before any request: at most 32 characters, and no whitespace, control characters,
    C(/), C(?), C(#), C(%) or backslash (an id travels in URL paths), nor only dots."
requirements:
  - requests
"""

    # The same options for the inventory plugin, with env entries so AWX credential types can
    # inject KOOPHONE_* variables.
    PLUGINS = r"""
options:
  endpoint:
    description:
      - "Base URL of the KooPhone API: C(http://) or C(https://) and a host, checked before any request."
      - "A trailing C(/v1), as the API Explorer writes it, is accepted and removed (the operation paths carry it)."
      - "Use C(http://127.0.0.1:PORT) for the bundled emulator."
    type: str
    default: "https://koophone.myhuaweicloud.com"
    env:
      - name: KOOPHONE_ENDPOINT
  auth_token:
    description:
      - "A project-scoped IAM token sent as C(X-Auth-Token)."
      - "Takes precedence over AK/SK signing and IAM password login."
    type: str
    env:
      - name: KOOPHONE_AUTH_TOKEN
  access_key:
    description:
      - "Access key id for AK/SK request signing (C(SDK-HMAC-SHA256))."
      - "Requires O(secret_key). Used when O(auth_token) is not set."
    type: str
    env:
      - name: KOOPHONE_ACCESS_KEY
      - name: HUAWEICLOUD_SDK_AK
  secret_key:
    description:
      - "Secret access key for AK/SK request signing. Never logged."
      - "A signature the service refuses is never retried: the gateway locks an access key after repeated failures."
    type: str
    env:
      - name: KOOPHONE_SECRET_KEY
      - name: HUAWEICLOUD_SDK_SK
  security_token:
    description:
      - "Security token of temporary AK/SK credentials, sent as C(X-Security-Token)."
    type: str
    env:
      - name: KOOPHONE_SECURITY_TOKEN
      - name: HUAWEICLOUD_SDK_SECURITY_TOKEN
  project_id:
    description:
      - "Project id. Optional with AK/SK signing: sent as C(X-Project-Id) only when given."
      - "With IAM password login, scopes the token to this project (instead of O(project_name))."
    type: str
    env:
      - name: KOOPHONE_PROJECT_ID
      - name: HUAWEICLOUD_SDK_PROJECT_ID
  username:
    description:
      - "IAM user name for password login, used when neither O(auth_token) nor AK/SK is set."
    type: str
    env:
      - name: KOOPHONE_USERNAME
  password:
    description:
      - "IAM user password for password login. Never logged and never written to the token cache."
    type: str
    env:
      - name: KOOPHONE_PASSWORD
  domain_name:
    description:
      - "IAM account (domain) name the user belongs to, for password login."
    type: str
    env:
      - name: KOOPHONE_DOMAIN_NAME
  project_name:
    description:
      - "Project name (for example V(cn-north-4)) the IAM token is scoped to."
    type: str
    env:
      - name: KOOPHONE_PROJECT_NAME
  iam_endpoint:
    description:
      - "Base URL of IAM for password login (C(POST /v3/auth/tokens))."
    type: str
    default: "https://iam.myhuaweicloud.com"
    env:
      - name: KOOPHONE_IAM_ENDPOINT
  token_cache_dir:
    description:
      - "Directory where IAM tokens from password login are cached (files mode 0600), so every task of a play reuses one
        login."
      - "Defaults to C($XDG_CACHE_HOME/koophone.cloud/tokens) or C(~/.cache/koophone.cloud/tokens)."
      - "Set to V(none) to disable the cache. Only the token and its expiry are stored, never the password."
      - "A cached token is renewed 40 minutes before it expires (or at 90% of its lifetime when that is shorter)."
    type: path
    env:
      - name: KOOPHONE_TOKEN_CACHE_DIR
  validate_certs:
    description:
      - "Whether to verify the TLS certificate of O(endpoint) and O(iam_endpoint)."
    type: bool
    default: true
    env:
      - name: KOOPHONE_VALIDATE_CERTS
  ca_path:
    description:
      - "A CA bundle to verify the endpoints' certificates with, instead of the system store."
    type: path
    env:
      - name: KOOPHONE_CA_PATH
  timeout:
    description:
      - "Seconds to wait for one HTTP response (1 to 600)."
    type: int
    default: 30
    env:
      - name: KOOPHONE_TIMEOUT
  retries:
    description:
      - "How many times a failed request is retried (0 to 20), with exponential backoff, full jitter and C(Retry-After)
        honoured."
      - "Throttling (HTTP 429) and connection failures before the request was sent are always retried."
      - "Server errors (5xx) and broken connections are retried only for operations that are safe to repeat;"
      - "a request that is not safe to repeat (create, commands, app install, reset, reboot, backup, assign) is never
        sent twice."
      - "One call never spends more than 300 seconds retrying."
    type: int
    default: 6
    env:
      - name: KOOPHONE_RETRIES
  concurrency:
    description:
      - "How many requests run at once when a list of ids is split into chunks or a listing into pages (1 to 64)."
      - "The inventory plugin reads its pages 16 at a time by default, where the modules' default is 8: a listing is
        read-only and one short burst per inventory run. The pages of 10,000 phones at 100 a page then take 8 round
        trips (at most 16 requests in flight, about 320 requests a second at 50 ms per round trip, for as long as the
        100 requests last). Throttling (HTTP 429) is retried after C(Retry-After); lower this where the service's rate
        limits call for it."
    type: int
    default: 16
    env:
      - name: KOOPHONE_CONCURRENCY
"""

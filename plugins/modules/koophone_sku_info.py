#!/usr/bin/python
# Copyright: (c) 2026, koophone.cloud contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

DOCUMENTATION = r"""
module: koophone_sku_info
short_description: List the KooPhone instance SKUs you can buy, one flat entry per region and SKU
version_added: 0.1.0
description:
  - Reads the saleable SKU catalogue (C(GET /v1/instances/sku?type=0), general cloud terminal SKUs) and flattens it
    into one dict per region and SKU, ready to use as the SKU, bandwidth SKU and region of new instances.
author:
  - koophone.cloud maintainers (@koophone)
options:
  region:
    description:
      - Only return SKUs sold in this region (for example V(cn-north-4)).
    type: str
  sku_type:
    description:
      - Only return SKUs of this type.
    type: str
    choices: [ENTERPRISE, PROFESSIONAL, PERSONAL]
  os:
    description:
      - Only return SKUs with an enabled resource pool for this AOSP version (for example V(AOSP11)).
    type: str
extends_documentation_fragment:
  - koophone.cloud.koophone
  - ansible.builtin.action_common_attributes
  - ansible.builtin.action_common_attributes.actiongroups
attributes:
  check_mode:
    support: full
    details: Reads only; runs normally in check mode.
  diff_mode:
    support: N/A
  platform:
    platforms: all
  action_group:
    support: full
    membership:
      - koophone.cloud.koophone
"""

EXAMPLES = r"""
- name: Read the SKU catalogue
  koophone.cloud.koophone_sku_info:
  register: catalogue

- name: Show what each region sells
  ansible.builtin.debug:
    msg: "{{ item.region_id }}: {{ item.sku_id }}, bandwidth {{ item.band_sizes | join('/') }} Mbit/s"
  loop: "{{ catalogue.skus }}"

- name: Professional SKUs in cn-north-4 that run AOSP11
  koophone.cloud.koophone_sku_info:
    region: cn-north-4
    sku_type: PROFESSIONAL
    os: AOSP11
  register: pro
"""

RETURN = r"""
skus:
  description: One entry per region and SKU, in catalogue order; V([]) when nothing matches the filters.
  returned: always
  type: list
  elements: dict
  contains:
    region_id:
      description: Region the SKU is sold in.
      type: str
      sample: cn-north-4
    sku_id:
      description: The SKU id (C(cbcSkuId)) to pass as C(sku_id) when creating instances.
      type: str
      sample: kp.professional.xlarge.32g.2
    sku_type:
      description: V(PROFESSIONAL), V(ENTERPRISE) (or V(PERSONAL)).
      type: str
    name:
      description: Flavor name.
      type: str
    calc_spec:
      description: CPU and memory.
      type: str
      sample: 4vCPUs | 8GB
    storage_spec:
      description: Storage.
      type: str
      sample: 32GB
    spec_desc:
      description: Human-readable description.
      type: str
    band_sizes:
      description: Bandwidth sizes on offer (Mbit/s), parsed from the API's comma-separated C(bandSize) string.
      type: list
      elements: int
      sample: [4, 8]
    charge_mode:
      description: 0 yearly/monthly, 1 pay-per-use, 2 both.
      type: int
    charge_mode_name:
      description: V(prepaid), V(pay_per_use) or V(both).
      type: str
    max_resolution:
      description: Highest resolution.
      type: str
    resource_size:
      description: Spec step (C(resourceSize), API Explorer only).
      type: str
    os_versions:
      description: AOSP versions with an enabled resource pool.
      type: list
      elements: str
      sample: [AOSP11]
    pools:
      description: The resource pools as the API lists them.
      type: list
      elements: dict
      contains:
        version:
          description: AOSP version.
          type: str
        res_pool_id:
          description: Resource pool id.
          type: str
        id:
          description: Primary key of the SKU record (a string in the API's examples, an integer in its schema).
          type: str
        network:
          description: V(EIP) or V(ADN).
          type: str
        enable:
          description: Whether the pool is enabled.
          type: bool
band_sku_id:
  description: The bandwidth SKU id (C(bandInfo.cbcSkuId)) to pass as C(band_sku_id) when creating instances.
  returned: always
  type: str
  sample: kp.bandwidth
"""

from ansible_collections.koophone.cloud.plugins.module_utils._module import KooPhoneModule
from ansible_collections.koophone.cloud.plugins.module_utils._skus import read_catalogue


def matches(sku, params):
    if params["region"] and sku["region_id"] != params["region"]:
        return False
    if params["sku_type"] and sku["sku_type"] != params["sku_type"]:
        return False
    return not params["os"] or params["os"] in sku["os_versions"]


def run(kp):
    catalogue, band_sku_id = read_catalogue(kp.client)
    skus = [sku for sku in catalogue if matches(sku, kp.params)]
    return {"changed": False, "skus": skus, "band_sku_id": band_sku_id}


def main():
    kp = KooPhoneModule(
        argument_spec=dict(
            region=dict(type="str"),
            sku_type=dict(type="str", choices=["ENTERPRISE", "PROFESSIONAL", "PERSONAL"]),
            os=dict(type="str"),
        ),
        supports_check_mode=True,
    )
    kp.run(run)


if __name__ == "__main__":
    main()

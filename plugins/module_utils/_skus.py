# Copyright: (c) 2026, koophone.cloud contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# Private to the koophone.cloud collection (capability layer; see docs/development.md): not a public API,
# it may change in any release. Do not import it from other collections or standalone plugins.
"""The saleable SKU catalogue (BatchShowSku, ``GET /v1/instances/sku?type=0``), flattened.

koophone_sku_info returns it; koophone_instance checks what it is asked to buy against it and,
when an option is missing or wrong, lists what the catalogue offers.
"""

CHARGE_MODES = {0: "prepaid", 1: "pay_per_use", 2: "both"}


def read_catalogue(client):
    """(flat SKU list, bandwidth SKU id) from one BatchShowSku call."""
    answer = client.call("BatchShowSku", query={"type": "0"})
    catalogue = answer.get("data") or {}
    return flatten(catalogue), band_sku_id(catalogue)


def band_sku_id(catalogue):
    band_info = catalogue.get("bandInfo") or {}
    # The PDF's text extraction spells SkuId "Skuld"; accept both.
    return band_info.get("cbcSkuId") or band_info.get("cbcSkuld")


def parse_band_sizes(text):
    sizes = []
    for part in ("%s" % (text or "")).split(","):
        part = part.strip()
        if part:
            try:
                sizes.append(int(float(part)))
            except ValueError:
                continue
    return sizes


def flatten(catalogue):
    """The nested region → SKU → pool catalogue as one flat dict per region and SKU."""
    skus = []
    for region in catalogue.get("skuSpecResponseList") or []:
        for sku in region.get("skuResponses") or []:
            pools = [
                {
                    "version": pool.get("version"),
                    "res_pool_id": pool.get("resPoolId"),
                    "id": None if pool.get("id") is None else "%s" % pool.get("id"),
                    "network": pool.get("network"),
                    "enable": pool.get("enable", True) is not False,
                }
                for pool in (sku.get("poolInfo") or {}).get("aosp") or []
            ]
            charge_mode = sku.get("chargeMode")
            skus.append(
                {
                    "region_id": region.get("regionId"),
                    "sku_id": sku.get("cbcSkuId") or sku.get("cbcSkuld"),
                    "sku_type": sku.get("type"),
                    "name": sku.get("name"),
                    "calc_spec": sku.get("calcSpec"),
                    "storage_spec": sku.get("storageSpec"),
                    "spec_desc": sku.get("specDesc"),
                    "band_sizes": parse_band_sizes(sku.get("bandSize")),
                    "charge_mode": charge_mode,
                    "charge_mode_name": CHARGE_MODES.get(charge_mode, "unknown"),
                    "max_resolution": sku.get("maxResolution"),
                    "resource_size": None if sku.get("resourceSize") is None else "%s" % sku.get("resourceSize"),
                    "os_versions": sorted(set(p["version"] for p in pools if p["enable"] and p["version"])),
                    "pools": pools,
                }
            )
    return skus

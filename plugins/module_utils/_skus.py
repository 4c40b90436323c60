# Copyright: (c) 2026, koophone.cloud contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# Private to the koophone.cloud collection (capability layer; see docs/development.md): not a public API,
# it may change in any release. Do not import it from other collections or standalone plugins.
"""The saleable SKU catalogue (BatchShowSku, ``GET /v1/instances/sku?type=0``), flattened.

koophone_sku_info returns it; koophone_instance checks what it is asked to buy against it and,
when an option is missing or wrong, lists what the catalogue offers.
"""

from ansible_collections.koophone.cloud.plugins.module_utils import _validation as validation
from ansible_collections.koophone.cloud.plugins.module_utils._errors import KooPhoneError

CHARGE_MODES = {0: "prepaid", 1: "pay_per_use", 2: "both"}
OPERATION = "BatchShowSku"


def read_catalogue(client):
    """(flat SKU list, bandwidth SKU id) from one BatchShowSku call.

    A catalogue of the wrong shape (a level that is not the object or list the reference shows, a
    name that is not text) is a KooPhoneError naming the field, never a partial catalogue.
    """
    answer = client.call("BatchShowSku", query={"type": "0"})
    catalogue = _level(answer.get("data"), dict, "data") or {}
    return flatten(catalogue), band_sku_id(catalogue)


def _level(value, kind, where):
    """``value`` when it is a ``kind`` (dict or list) or missing/empty; else a KooPhoneError naming ``where``."""
    if not value or isinstance(value, kind):
        return value
    raise KooPhoneError(
        "The SKU catalogue cannot be read: %s is %s, not %s"
        % (where, _kind(value), "an object" if kind is dict else "a list"),
        operation=OPERATION,
    )


def _text_of(holder, field, where):
    """A name the collection compares, sorts or sends back (region, SKU, version, network): text, or
    a KooPhoneError (a number there would never match the user's text)."""
    value = holder.get(field)
    if value is None or isinstance(value, str):
        return value
    raise KooPhoneError(
        "The SKU catalogue cannot be read: %s.%s is %s, not text" % (where, field, _kind(value)),
        operation=OPERATION,
    )


def _kind(value):
    # The catalogue's messages call a string "text", as the reference's tables do.
    return "text" if isinstance(value, str) else validation.kind_of(value)


def band_sku_id(catalogue):
    band_info = _level(catalogue.get("bandInfo"), dict, "data.bandInfo") or {}
    # The PDF's text extraction spells SkuId "Skuld"; accept both.
    return _text_of(band_info, "cbcSkuId", "data.bandInfo") or _text_of(band_info, "cbcSkuld", "data.bandInfo")


def parse_band_sizes(text):
    sizes = []
    for part in ("%s" % (text or "")).split(","):
        part = part.strip()
        if part:
            size = validation.as_int(_number(part))
            if size is not None:
                sizes.append(size)
    return sizes


def _number(text):
    try:
        return float(text)
    except ValueError:
        return None


def flatten(catalogue):
    """The nested region → SKU → pool catalogue as one flat dict per region and SKU."""
    skus = []
    regions = _level(catalogue.get("skuSpecResponseList"), list, "data.skuSpecResponseList") or []
    for r, region in enumerate(regions):
        where = "data.skuSpecResponseList[%d]" % r
        region = _level(region, dict, where) or {}
        for n, sku in enumerate(_level(region.get("skuResponses"), list, where + ".skuResponses") or []):
            skus.append(_flat_sku(region, _level(sku, dict, "%s.skuResponses[%d]" % (where, n)) or {}, where, n))
    return skus


def _flat_sku(region, sku, where, n):
    where = "%s.skuResponses[%d]" % (where, n)
    pools = _pools(sku, where)
    charge_mode = validation.as_int(sku.get("chargeMode"))
    return {
        "region_id": _text_of(region, "regionId", where.rsplit(".", 1)[0]),
        "sku_id": _text_of(sku, "cbcSkuId", where) or _text_of(sku, "cbcSkuld", where),
        "sku_type": _text_of(sku, "type", where),
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


def _pools(sku, where):
    pool_info = _level(sku.get("poolInfo"), dict, where + ".poolInfo") or {}
    pools = []
    for n, pool in enumerate(_level(pool_info.get("aosp"), list, where + ".poolInfo.aosp") or []):
        at = "%s.poolInfo.aosp[%d]" % (where, n)
        pool = _level(pool, dict, at) or {}
        pools.append(
            {
                "version": _text_of(pool, "version", at),
                "res_pool_id": pool.get("resPoolId"),
                "id": None if pool.get("id") is None else "%s" % pool.get("id"),
                "network": _text_of(pool, "network", at),
                "enable": pool.get("enable", True) is not False,
            }
        )
    return pools

"""koophone_sku_info: the catalogue, one flat dict per region and SKU, filtered on the controller."""

import pytest

from ansible_collections.koophone.cloud.plugins.modules import koophone_sku_info as module


@pytest.mark.parametrize(
    "filters,skus",
    [
        ({}, ["kp.pro", "kp.ent"]),
        ({"region": "cn-north-7"}, ["kp.ent"]),
        ({"sku_type": "PROFESSIONAL"}, ["kp.pro"]),
        ({"os": "AOSP14"}, ["kp.pro"]),
        ({"os": "AOSP9"}, []),  # a disabled pool is not on offer
    ],
)
def test_the_catalogue_filtered(fleet, make_client, make_kp, filters, skus):
    options = dict(dict(region=None, sku_type=None, os=None), **filters)
    result = module.run(make_kp(make_client(fleet), options))
    assert [sku["sku_id"] for sku in result["skus"]] == skus
    assert result["band_sku_id"] == "kp.bandwidth" and result["changed"] is False
    assert len(fleet.calls) == 1

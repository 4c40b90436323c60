"""_skus: the SKU catalogue (BatchShowSku) read once and flattened, both spellings of SkuId."""

import pytest

from ansible_collections.koophone.cloud.plugins.module_utils import _skus as skus
from ansible_collections.koophone.cloud.plugins.module_utils._errors import KooPhoneError


def test_flatten_reads_both_spellings_and_only_enabled_versions(catalogue):
    flat = skus.flatten(catalogue)
    assert [(s["region_id"], s["sku_id"]) for s in flat] == [("cn-north-4", "kp.pro"), ("cn-north-7", "kp.ent")]
    assert flat[0]["os_versions"] == ["AOSP11", "AOSP14"]
    assert flat[0]["band_sizes"] == [4, 8]
    assert flat[0]["pools"][0]["id"] == "40" and flat[0]["pools"][1]["id"] == "41"
    assert skus.band_sku_id(catalogue) == "kp.bandwidth"


def test_a_sku_is_one_flat_dict_with_names_for_its_numbers(catalogue):
    pro, ent = skus.flatten(catalogue)
    assert (pro["sku_type"], pro["calc_spec"], pro["charge_mode"], pro["charge_mode_name"]) == (
        "PROFESSIONAL",
        "4vCPUs | 8GB",
        2,
        "both",
    )
    assert pro["pools"][3] == {"version": "AOSP9", "res_pool_id": "p3", "id": "42", "network": "EIP", "enable": False}
    assert (ent["pools"], ent["os_versions"], ent["charge_mode_name"], ent["band_sizes"]) == ([], [], "unknown", [8])


@pytest.mark.parametrize(
    "text,sizes",
    [("4,8", [4, 8]), (" 4 , 8.0 ,", [4, 8]), ("x,4", [4]), ("", []), (None, []), (16, [16]), ("4,inf,nan,1e400", [4])],
)
def test_band_sizes(text, sizes):
    assert skus.parse_band_sizes(text) == sizes


def test_the_catalogue_is_read_with_one_call_of_type_0(fleet, make_client):
    catalogue, band_sku_id = skus.read_catalogue(make_client(fleet))
    assert [call.query for call in fleet.calls] == [{"type": "0"}]
    assert band_sku_id == "kp.bandwidth" and [sku["sku_id"] for sku in catalogue] == ["kp.pro", "kp.ent"]


def test_an_empty_answer_is_an_empty_catalogue(service, client):
    service.on("BatchShowSku", {"error_code": "0"})
    assert skus.read_catalogue(client) == ([], None)


@pytest.mark.parametrize(
    "data,where",
    [
        ([1], "data is a list, not an object"),
        ({"bandInfo": [1]}, "data.bandInfo is a list, not an object"),
        ({"bandInfo": {"cbcSkuId": 62}}, "data.bandInfo.cbcSkuId is a number, not text"),
        ({"skuSpecResponseList": {"regionId": "r"}}, "data.skuSpecResponseList is an object, not a list"),
        ({"skuSpecResponseList": [["r"]]}, "data.skuSpecResponseList[0] is a list, not an object"),
        (
            {"skuSpecResponseList": [{"regionId": 4, "skuResponses": [{"cbcSkuId": "kp.pro"}]}]},
            "data.skuSpecResponseList[0].regionId is a number, not text",
        ),
        ({"skuSpecResponseList": [{"skuResponses": 5}]}, "data.skuSpecResponseList[0].skuResponses is a number"),
        ({"skuSpecResponseList": [{"skuResponses": ["kp.pro"]}]}, "skuResponses[0] is text, not an object"),
        (
            {"skuSpecResponseList": [{"skuResponses": [{"poolInfo": {"aosp": [{"version": ["AOSP11"]}]}}]}]},
            "data.skuSpecResponseList[0].skuResponses[0].poolInfo.aosp[0].version is a list, not text",
        ),
        (
            {
                "skuSpecResponseList": [
                    {"skuResponses": [{"poolInfo": {"aosp": [{"version": "AOSP11"}, {"version": 14}]}}]}
                ]
            },
            "poolInfo.aosp[1].version is a number, not text",
        ),
    ],
)
def test_a_catalogue_of_the_wrong_shape_is_an_error_naming_the_field(service, client, data, where):
    service.on("BatchShowSku", {"error_code": "0", "data": data})
    with pytest.raises(KooPhoneError) as raised:
        skus.read_catalogue(client)
    assert where in str(raised.value) and raised.value.operation == "BatchShowSku"


def test_a_charge_mode_that_is_no_number_is_unknown(catalogue):
    catalogue["skuSpecResponseList"][0]["skuResponses"][0]["chargeMode"] = [2]
    pro = skus.flatten(catalogue)[0]
    assert (pro["charge_mode"], pro["charge_mode_name"]) == (None, "unknown")

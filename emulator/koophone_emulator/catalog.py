"""Static data the fleet is drawn from: regions, the SKU catalogue and the preinstalled apps.

Shapes follow BatchShowSku.json: ``cbcSkuId`` (not the PDF's "cbcSkuld"), ``resourceSize`` as a
string, ``poolInfo.aosp[].id`` as an integer, and ``network``/``enable`` on every pool, which the
JSON schema requires even though its example omits them.

Two catalogues (the ``catalogue`` setting): ``reference``, the default, offers ADN pools only,
as every pool of the reference's example does; ``mixed`` offers an EIP and an ADN pool per
AOSP version. Regions, SKUs and AOSP versions are the same in both.
"""

BAND_SKU_ID = "kp.bandwidth"

REGIONS = {
    "cn-north-4": ("华北-北京四", "CN North-Beijing4"),
    "cn-north-7": ("华北-乌兰察布-二零三", "CN North-Ulanqab203"),
    "cn-southwest-2": ("西南-贵阳一", "CN Southwest-Guiyang1"),
}

# (type, cbcSkuId, name, vCPUs, memory GB, storage GB, resolution, bandSize, resourceSize)
_SKUS = [
    ("PROFESSIONAL", "kp.professional.xlarge.32g.2", "sku_professional_4c8g", 4, 8, 32, "720p", "4,8", "100"),
    ("PROFESSIONAL", "kp.professional.2xlarge.128g.2", "sku_professional_8c16g", 8, 16, 128, "1080p", "4,8", "120"),
    ("ENTERPRISE", "kp.enterprise.2xlarge.64g.2", "sku_enterprise_8c16g", 8, 16, 64, "1080p", "4,8", "120"),
]

# Which SKUs each region sells (the enterprise SKU is not sold everywhere, as in the reference example).
_REGION_SKUS = {
    "cn-north-4": ["kp.professional.xlarge.32g.2", "kp.enterprise.2xlarge.64g.2"],
    "cn-north-7": ["kp.professional.xlarge.32g.2", "kp.professional.2xlarge.128g.2", "kp.enterprise.2xlarge.64g.2"],
    "cn-southwest-2": ["kp.professional.xlarge.32g.2"],
}

OS_VERSIONS = ("AOSP11", "AOSP14")
NETWORKS = ("EIP", "ADN")
CATALOGUE_NETWORKS = {"reference": ("ADN",), "mixed": NETWORKS}
EDITION = {"PROFESSIONAL": ("Professional edition", "专业版"), "ENTERPRISE": ("Enterprise edition", "企业版")}


class Sku:
    __slots__ = ("type", "sku_id", "name", "cpus", "memory", "storage", "resolution", "band_sizes", "resource_size")

    def __init__(self, row):
        (
            self.type,
            self.sku_id,
            self.name,
            self.cpus,
            self.memory,
            self.storage,
            self.resolution,
            bands,
            self.resource_size,
        ) = row
        self.band_sizes = bands

    def description(self):
        # The batch-query instance_sku text, e.g. "Professional edition | 8 vCPUs | 16 GB | 10 GB storage | ..."
        return "%s | %d vCPUs | %d GB | %d GB storage | Maximum resolution: %s" % (
            EDITION[self.type][0],
            self.cpus,
            self.memory,
            self.storage,
            self.resolution,
        )

    def allows_band(self, band_size):
        return any(float(size) == float(band_size) for size in self.band_sizes.split(","))


SKUS = {row[1]: Sku(row) for row in _SKUS}


def networks(catalogue):
    """The network lines a catalogue's pools offer, the default (create without network) first."""
    return CATALOGUE_NETWORKS[catalogue]


def pools(region_id, sku_id, catalogue="mixed"):
    """The resource pools of a SKU in a region: one per AOSP version x network line of the catalogue."""
    region_index = sorted(REGIONS).index(region_id)
    sku_index = [row[1] for row in _SKUS].index(sku_id)
    offered = networks(catalogue)
    result = []
    for os_index, version in enumerate(OS_VERSIONS):
        for net_index, network in enumerate(NETWORKS):
            if network not in offered:
                continue
            pool_id = 40 + region_index * 12 + sku_index * 4 + os_index * 2 + net_index
            result.append(
                {
                    "version": version,
                    "resPoolId": "16000871991763%05d" % pool_id,
                    "id": pool_id,
                    "network": network,
                    "enable": True,
                }
            )
    return result


def find_sku(region_id, sku_id):
    if region_id in _REGION_SKUS and sku_id in _REGION_SKUS[region_id]:
        return SKUS[sku_id]
    return None


def region_skus():
    """[(region_id, sku)] in catalogue order: what the fleet is seeded from."""
    return [(region, SKUS[sku_id]) for region in sorted(_REGION_SKUS) for sku_id in _REGION_SKUS[region]]


def sku_answer(catalogue="mixed"):
    """The data object of BatchShowSku."""
    regions = []
    for region in sorted(_REGION_SKUS):
        responses = []
        for sku_id in _REGION_SKUS[region]:
            sku = SKUS[sku_id]
            responses.append(
                {
                    "type": sku.type,
                    "cbcSkuId": sku.sku_id,
                    "name": sku.name,
                    "calcSpec": "%dvCPUs | %dGB" % (sku.cpus, sku.memory),
                    "storageSpec": "%dGB" % sku.storage,
                    "specDesc": sku.description(),
                    "bandSize": sku.band_sizes,
                    "chargeMode": 2,
                    "maxResolution": sku.resolution,
                    "resourceSize": sku.resource_size,
                    "poolInfo": {"aosp": pools(region, sku_id, catalogue)},
                }
            )
        regions.append({"regionId": region, "skuResponses": responses})
    return {"bandInfo": {"cbcSkuId": BAND_SKU_ID}, "skuSpecResponseList": regions}


# Preinstalled (system) apps: package -> (label, version on AOSP11, version on AOSP14).
SYSTEM_APPS = [
    ("com.android.settings", "Settings", "11", "14"),
    ("com.android.launcher3", "Launcher3", "11", "14"),
    ("com.android.documentsui", "Files", "11", "14"),
    ("com.android.contacts", "Contacts", "11.0.0", "14.0.0"),
    ("com.android.gallery3d", "Gallery", "1.1.40030", "1.1.40030"),
    ("com.android.inputmethod.latin", "Android Keyboard (AOSP)", "11", "14"),
    ("com.android.providers.downloads", "Download Manager", "11", "14"),
    ("com.huawei.appmarket", "华为应用市场", "14.1.1.300", "14.1.1.300"),
    ("com.iotouch.change", "主题壁纸", "1.10.2.25040312", "1.10.2.25040312"),
]

# Third-party apps the --mix fleet draws from: package -> (label, version).
THIRD_PARTY_APPS = [
    ("com.tencent.mm", "WeChat", "8.0.58"),
    ("com.sankuai.meituan", "Meituan", "12.31.402"),
    ("com.ss.android.ugc.aweme", "Douyin", "32.5.0"),
    ("com.example.shop", "Example Shop", "2.4.1"),
]


def icon_url(package):
    return "https://obs-koophone-emulator.obs.cn-north-4.myhuaweicloud.com/app/icon/%s.png" % package


def version_code(version):
    """A stable integer versionCode from a version name, as dumpsys package shows it."""
    digits = [int(part) for part in version.replace("-", ".").split(".") if part.isdigit()][:4]
    digits += [0] * (4 - len(digits))
    return (digits[0] % 1000) * 1000000 + (digits[1] % 1000) * 10000 + (digits[2] % 100) * 100 + digits[3] % 100

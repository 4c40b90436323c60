"""The fake adb shell, called directly on seeded instances."""

import pytest

from koophone_emulator import shell
from koophone_emulator.state import App


@pytest.fixture
def phone(state, ids):
    inst = state.get(ids[0])
    inst.os = "AOSP14"
    inst.apps["com.tencent.mm"] = App("com.tencent.mm", "WeChat", "8.0.58", False)
    return inst


def run(inst, command):
    return shell.run(inst, command)


def test_getprop(phone):
    assert run(phone, "getprop ro.build.version.release") == (0, "14")
    assert run(phone, "getprop ro.serialno") == (0, phone.instance_id)
    assert run(phone, "getprop ro.product.model")[1].startswith("KooPhone-")
    assert run(phone, "getprop no.such.prop") == (0, "")
    status, everything = run(phone, "getprop")
    assert status == 0 and "[ro.build.version.sdk]: [34]" in everything.splitlines()
    phone.os = "AOSP11"
    assert run(phone, "getprop ro.build.version.release") == (0, "11")


def test_pm_list_packages(phone):
    status, third = run(phone, "pm list packages -3")
    assert (status, third) == (0, "package:com.tencent.mm")
    status, everything = run(phone, "pm list packages")
    assert "package:com.android.settings" in everything.splitlines() and len(everything.splitlines()) == 10
    assert run(phone, "pm list packages tencent") == (0, "package:com.tencent.mm")
    assert run(phone, "pm list packages -3 --show-versioncode")[1].startswith("package:com.tencent.mm versionCode:")
    assert run(phone, "pm path com.tencent.mm") == (0, "package:/data/app/com.tencent.mm-1/base.apk")


def test_dumpsys_package(phone):
    status, text = run(phone, "dumpsys package com.tencent.mm")
    assert status == 0
    assert "    versionName=8.0.58" in text.splitlines()
    assert any(line.strip().startswith("versionCode=8005800 ") for line in text.splitlines())
    assert run(phone, "dumpsys package com.nothing")[1] == "Unable to find package: com.nothing"


def test_pm_uninstall(phone):
    assert run(phone, "pm uninstall com.tencent.mm") == (0, "Success")
    assert "com.tencent.mm" not in phone.apps
    assert run(phone, "pm uninstall com.tencent.mm") == (1, "Failure [DELETE_FAILED_INTERNAL_ERROR]")
    assert run(phone, "pm uninstall com.android.settings") == (1, "Failure [DELETE_FAILED_INTERNAL_ERROR]")


def test_ls(phone):
    status, root = run(phone, "ls")
    assert status == 0 and "system" in root.splitlines()
    assert "Download" in run(phone, "ls /sdcard/")[1].splitlines()
    assert run(phone, "ls /system/build.prop") == (0, "/system/build.prop")
    assert run(phone, "ls -l /system")[1].splitlines()[0].startswith("drwxr-xr-x")
    assert run(phone, "ls /nope") == (1, "ls: /nope: No such file or directory")


def test_echo_id_settings(phone):
    assert run(phone, "echo hello 'big world'") == (0, "hello big world")
    assert run(phone, "id")[1].startswith("uid=2000(shell)")
    assert run(phone, "settings get global airplane_mode_on") == (0, "0")
    assert run(phone, "settings put system screen_brightness 200") == (0, "")
    assert run(phone, "settings get system screen_brightness") == (0, "200")
    assert run(phone, "settings get secure unknown_key") == (0, "null")
    assert run(phone, "settings get nowhere x")[0] != 0
    assert "screen_brightness=200" in run(phone, "settings list system")[1]


def test_unknown_command_and_sequencing(phone):
    assert run(phone, "reboot-now") == (127, "/system/bin/sh: reboot-now: not found")
    assert run(phone, "echo a; echo b") == (0, "a\nb")
    assert run(phone, "false && echo no") == (1, "")
    assert run(phone, "false || echo yes") == (0, "yes")
    assert run(phone, "false && echo no || echo fallback") == (0, "fallback")
    assert run(phone, "pm list packages | grep -v android | wc -l") == (0, "3")
    assert run(phone, "pm list packages | sort -r | head -n 1") == (0, "package:com.tencent.mm")
    assert run(phone, "getprop | grep -i SERIALNO")[1] == "[ro.serialno]: [%s]" % phone.instance_id
    assert run(phone, "echo x > /sdcard/f")[0] == 2
    assert run(phone, "echo 'unterminated")[0] == 2
    assert run(phone, "sleep 30 && /system/bin/getprop ro.build.version.sdk") == (0, "34")

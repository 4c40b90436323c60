"""A fake ``adb shell`` for sync-command and async-command.

It knows the handful of commands automation really sends (getprop, pm, dumpsys package, ls,
settings, echo, id, ...) and reads or changes the instance's emulated state. Commands can be
joined with ``|``, ``;``, ``&&`` and ``||``; grep, head, tail, wc -l and sort work as filters.
Anything else fails the way toybox sh does: ``/system/bin/sh: X: not found``, exit 127.
"""

import re
import shlex
import zlib

from . import catalog

NOT_FOUND = 127

FILESYSTEM = {
    "/": [
        "acct",
        "apex",
        "cache",
        "config",
        "data",
        "dev",
        "etc",
        "mnt",
        "odm",
        "proc",
        "product",
        "sdcard",
        "storage",
        "sys",
        "system",
        "vendor",
    ],
    "/system": [
        "apex",
        "app",
        "bin",
        "build.prop",
        "etc",
        "fonts",
        "framework",
        "lib",
        "lib64",
        "priv-app",
        "product",
        "usr",
        "xbin",
    ],
    "/system/bin": ["app_process64", "cat", "dumpsys", "getprop", "id", "input", "ls", "pm", "settings", "sh"],
    "/sdcard": ["Alarms", "Android", "DCIM", "Documents", "Download", "Movies", "Music", "Pictures"],
    "/sdcard/Download": [],
    "/sdcard/DCIM": ["Camera"],
    "/data": ["app", "data", "local", "misc", "system"],
    "/data/local": ["tmp"],
    "/data/local/tmp": [],
}
FILESYSTEM["/storage/emulated/0"] = FILESYSTEM["/sdcard"]
SETTINGS_NAMESPACES = ("system", "secure", "global")


def props(inst):
    android = "11" if inst.os == "AOSP11" else "14"
    sdk = "30" if android == "11" else "34"
    model = "KooPhone-%s" % ("Enterprise" if ".enterprise." in inst.sku_id else "Pro")
    return {
        "ro.build.version.release": android,
        "ro.build.version.sdk": sdk,
        "ro.build.version.security_patch": "2025-05-01",
        "ro.build.display.id": "KP-%s.0.0.120" % android,
        "ro.build.fingerprint": "KooPhone/kp_arm64/kp:%s/KP%s/120:user/release-keys" % (android, android),
        "ro.product.brand": "KooPhone",
        "ro.product.manufacturer": "HUAWEI",
        "ro.product.model": model,
        "ro.product.name": "kp_arm64",
        "ro.product.cpu.abi": "arm64-v8a",
        "ro.serialno": inst.instance_id,
        "ro.kp.instance.name": inst.instance_name,
        "ro.kp.region": inst.region,
        "persist.sys.timezone": "Asia/Shanghai",
        "sys.boot_completed": "1",
    }


class Shell:
    def __init__(self, inst):
        self.inst = inst

    def run(self, command):
        """Run a command line; return (exit status, output)."""
        try:
            lexer = shlex.shlex(command, posix=True, punctuation_chars=";&|<>()")
            lexer.whitespace_split = True
            words = list(lexer)
        except ValueError as exc:
            return 2, "/system/bin/sh: syntax error: %s" % exc
        # Split into pipelines, each remembering the connector (;, && or ||) written before it.
        pipelines, connector, stages = [], None, [[]]
        for word in words + [";"]:
            if word == "|":
                stages.append([])
            elif word in (";", "&&", "||"):
                if stages != [[]]:
                    pipelines.append((connector, stages))
                connector, stages = word, [[]]
            elif word[0] in ";&|<>()":
                return 2, "/system/bin/sh: %s: not supported by the KooPhone emulator" % word
            else:
                stages[-1].append(word)
        status, output = 0, []
        for connector, stages in pipelines:
            # sh semantics: a skipped pipeline leaves the status as it was.
            if (connector == "&&" and status != 0) or (connector == "||" and status == 0):
                continue
            status, text = self._pipeline(stages)
            if text:
                output.append(text)
        return status, "\n".join(output)

    def _pipeline(self, stages):
        text, status = "", 0
        for index, argv in enumerate(stages):
            if not argv:
                return 2, "/system/bin/sh: syntax error: unexpected '|'"
            status, text = self._command(argv, text if index else None)
        return status, text

    def _command(self, argv, stdin):
        name, args = argv[0], argv[1:]
        if name.startswith(("/system/bin/", "/system/xbin/")):
            name = name.rsplit("/", 1)[1]
        handler = getattr(self, "cmd_" + name.replace("-", "_"), None) if re.fullmatch(r"[a-z_-]+", name) else None
        if handler is None:
            return NOT_FOUND, "/system/bin/sh: %s: not found" % name
        if stdin is not None and name in ("grep", "head", "tail", "wc", "sort"):
            return handler(args, stdin)
        return handler(args)

    # ------------------------------------------------------------------ commands

    def cmd_getprop(self, args):
        values = props(self.inst)
        if args:
            return 0, values.get(args[0], "")
        return 0, "\n".join("[%s]: [%s]" % item for item in sorted(values.items()))

    def cmd_echo(self, args):
        return 0, " ".join(args)

    def cmd_id(self, args):
        return (
            0,
            "uid=2000(shell) gid=2000(shell) groups=2000(shell),1004(input),1007(log),3003(inet) context=u:r:shell:s0",
        )

    def cmd_whoami(self, args):
        return 0, "shell"

    def cmd_sleep(self, args):
        # Accepted but never slept: a fake shell must not hold the emulator's state lock.
        return (0, "") if args else (1, "usage: sleep SECONDS")

    def cmd_true(self, args):
        return 0, ""

    def cmd_false(self, args):
        return 1, ""

    def cmd_uname(self, args):
        if "-a" in args:
            return 0, "Linux localhost 5.10.110-kp #1 SMP PREEMPT Mon May 5 12:00:00 CST 2025 aarch64 Toybox"
        return 0, "Linux"

    def cmd_wm(self, args):
        if args[:1] == ["size"]:
            return 0, "Physical size: 720x1280"
        if args[:1] == ["density"]:
            return 0, "Physical density: 320"
        return 1, "Error: unknown command '%s'" % " ".join(args)

    def cmd_input(self, args):
        return (0, "") if args else (1, "Usage: input [<source>] <command> [<arg>...]")

    def cmd_am(self, args):
        if args[:1] == ["force-stop"] and len(args) == 2:
            return 0, ""
        if args[:1] == ["start"]:
            return 0, "Starting: Intent { %s }" % " ".join(args[1:])
        return 1, "Error: unknown command '%s'" % " ".join(args)

    def cmd_ls(self, args):
        long_format = any(arg.startswith("-") and "l" in arg for arg in args)
        paths = [arg for arg in args if not arg.startswith("-")] or ["/"]
        lines, status = [], 0
        for path in paths:
            normalized = "/" + path.strip("/") if path != "/" else "/"
            parent, _separator, base = normalized.rpartition("/")
            if normalized in FILESYSTEM:
                for entry in FILESYSTEM[normalized]:
                    lines.append(_long(entry, normalized) if long_format else entry)
            elif base in FILESYSTEM.get(parent or "/", []):
                lines.append(_long(base, parent or "/") if long_format else normalized)
            else:
                lines.append("ls: %s: No such file or directory" % path)
                status = 1
        return status, "\n".join(lines)

    def cmd_cat(self, args):
        if args == ["/system/build.prop"]:
            return 0, "\n".join("%s=%s" % item for item in sorted(props(self.inst).items()))
        if args == ["/proc/version"]:
            return 0, "Linux version 5.10.110-kp (build@koophone) #1 SMP PREEMPT"
        return 1, "cat: %s: No such file or directory" % (args[0] if args else "-")

    def cmd_pm(self, args):
        if args[:2] == ["list", "packages"]:
            flags = [arg for arg in args[2:] if arg.startswith("-")]
            needle = ([arg for arg in args[2:] if not arg.startswith("-")] or [""])[0]
            apps = self.inst.apps.values()
            if "-3" in flags:
                apps = [app for app in apps if not app.system]
            elif "-s" in flags:
                apps = [app for app in apps if app.system]
            show_version = "--show-versioncode" in flags
            lines = []
            for app in sorted(apps, key=lambda app: app.package):
                if needle in app.package:
                    suffix = " versionCode:%d" % catalog.version_code(app.version) if show_version else ""
                    lines.append("package:%s%s" % (app.package, suffix))
            return 0, "\n".join(lines)
        if args[:1] == ["path"] and len(args) == 2:
            if args[1] in self.inst.apps:
                app = self.inst.apps[args[1]]
                base = "/system/app" if app.system else "/data/app"
                return 0, "package:%s/%s-1/base.apk" % (base, app.package)
            return 1, ""
        if args[:1] == ["uninstall"] and len(args) >= 2:
            package = args[-1]
            app = self.inst.apps.get(package)
            if app is None or app.system:
                return 1, "Failure [DELETE_FAILED_INTERNAL_ERROR]"
            del self.inst.apps[package]
            return 0, "Success"
        return 1, "Error: unknown command '%s'" % " ".join(args)

    def cmd_dumpsys(self, args):
        if args[:1] != ["package"] or len(args) < 2:
            return 0, "Currently running services:\n  package\n  activity\n  window"
        app = self.inst.apps.get(args[1])
        if app is None:
            return 0, "Unable to find package: %s" % args[1]
        code = catalog.version_code(app.version)
        sdk = "30" if self.inst.os == "AOSP11" else "34"
        return 0, "\n".join(
            [
                "Packages:",
                "  Package [%s] (%08x):" % (app.package, zlib.crc32(app.package.encode())),
                "    userId=%d" % (10000 + code % 9000),
                "    pkg=Package{%s}" % app.package,
                "    codePath=%s/%s-1" % ("/system/app" if app.system else "/data/app", app.package),
                "    versionCode=%d minSdk=24 targetSdk=%s" % (code, sdk),
                "    versionName=%s" % app.version,
                "    flags=[ %s]" % ("SYSTEM HAS_CODE " if app.system else "HAS_CODE ALLOW_CLEAR_USER_DATA "),
            ]
        )

    def cmd_settings(self, args):
        if len(args) >= 2 and args[1] not in SETTINGS_NAMESPACES:
            return 255, "Invalid namespace '%s'" % args[1]
        if args[:1] == ["get"] and len(args) == 3:
            return 0, self.inst.settings.get("%s/%s" % (args[1], args[2]), "null")
        if args[:1] == ["put"] and len(args) >= 4:
            self.inst.settings["%s/%s" % (args[1], args[2])] = " ".join(args[3:])
            return 0, ""
        if args[:1] == ["delete"] and len(args) == 3:
            removed = self.inst.settings.pop("%s/%s" % (args[1], args[2]), None)
            return 0, "Deleted %d rows" % (removed is not None)
        if args[:1] == ["list"] and len(args) == 2:
            prefix = args[1] + "/"
            items = sorted(
                (key[len(prefix) :], value) for key, value in self.inst.settings.items() if key.startswith(prefix)
            )
            return 0, "\n".join("%s=%s" % item for item in items)
        return 1, "usage:  settings [--user <USER_ID> | current] get namespace key"

    # ------------------------------------------------------------------ filters (read stdin)

    def cmd_grep(self, args, stdin=None):
        invert = "-v" in args
        flags = re.IGNORECASE if "-i" in args else 0
        patterns = [arg for arg in args if not arg.startswith("-")]
        if not patterns or stdin is None:
            return 2, "usage: grep [-iv] PATTERN"
        try:
            pattern = re.compile(patterns[0], flags)
        except re.error:
            return 2, "grep: bad regex '%s'" % patterns[0]
        lines = [line for line in stdin.splitlines() if bool(pattern.search(line)) != invert]
        return (0 if lines else 1), "\n".join(lines)

    def cmd_head(self, args, stdin=None):
        return 0, "\n".join((stdin or "").splitlines()[: _count(args)])

    def cmd_tail(self, args, stdin=None):
        lines = (stdin or "").splitlines()
        return 0, "\n".join(lines[-_count(args) :] if _count(args) else [])

    def cmd_wc(self, args, stdin=None):
        return 0, str(len((stdin or "").splitlines()))

    def cmd_sort(self, args, stdin=None):
        return 0, "\n".join(sorted((stdin or "").splitlines(), reverse="-r" in args))


def _count(args):
    for index, arg in enumerate(args):
        if arg == "-n" and index + 1 < len(args) and args[index + 1].isdigit():
            return int(args[index + 1])
        if arg.startswith("-") and arg[1:].isdigit():
            return int(arg[1:])
    return 10


def _long(entry, parent):
    is_file = "." in entry and parent == "/system"
    kind = "-rw-r--r--" if is_file else "drwxr-xr-x"
    size = 2048 if is_file else 4096
    return "%s 1 root root %5d 2025-05-01 12:00 %s" % (kind, size, entry)


def run(inst, command):
    return Shell(inst).run(command)

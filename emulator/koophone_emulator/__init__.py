"""koophone_emulator: a stateful, offline emulator of the KooPhone (Huawei Cloud) API.

See docs/emulator.md. ``launcher.start_emulator()`` runs one for tests.
"""

__version__ = "1.0.0"

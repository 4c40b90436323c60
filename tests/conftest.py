"""Make ``ansible_collections.koophone.cloud`` importable when pytest runs from a plain checkout.

ansible-test stages the collection under ansible_collections/ itself; plain pytest gets a
symlink tree in .build/collections pointing at this checkout instead.
"""

import os
import sys

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def _collections_root():
    parent = os.path.dirname(os.path.dirname(REPO))
    if os.path.basename(parent) == "ansible_collections":
        return os.path.dirname(parent)
    root = os.path.join(REPO, ".build", "collections")
    link = os.path.join(root, "ansible_collections", "koophone", "cloud")
    if not os.path.islink(link):
        os.makedirs(os.path.dirname(link), exist_ok=True)
        os.symlink(REPO, link)
    return root


COLLECTIONS_ROOT = _collections_root()
if COLLECTIONS_ROOT not in sys.path:
    sys.path.insert(0, COLLECTIONS_ROOT)
EMULATOR_DIR = os.path.join(REPO, "emulator")
if EMULATOR_DIR not in sys.path:
    sys.path.insert(0, EMULATOR_DIR)

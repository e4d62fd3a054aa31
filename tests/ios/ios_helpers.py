from __future__ import annotations

import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent.parent
IOS = ROOT / "tests" / "fixtures" / "built" / "ios"
BAD = ROOT / "tests" / "fixtures" / "bad"
APP = "Payload/DemoShop.app/"


def entry(ipa: str, name: str) -> bytes:
    with zipfile.ZipFile(IOS / ipa) as zf:
        return zf.read(APP + name if not name.startswith("Payload/") else name)


"""Fleet inputs built from the fixture apps: distinct variants (zip comment changed), copies and a bad file."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
BUILT = ROOT / "tests" / "fixtures" / "built"
BAD = ROOT / "tests" / "fixtures" / "bad" / "truncated.apk"
EOCD = b"PK\x05\x06"


def variant(data: bytes, n: int) -> bytes:
    """The same archive with a different zip comment: new bytes (new SHA-256), same contents."""
    at = data.rfind(EOCD)
    assert at >= 0
    comment = f"fleet-variant-{n}".encode()
    return data[: at + 20] + len(comment).to_bytes(2, "little") + comment


def fixture_apps() -> list[Path]:
    return sorted([*BUILT.glob("*.apk"), *BUILT.glob("*.apks"), *BUILT.glob("*.xapk")])


def build_inputs(root: Path, distinct: int) -> dict[str, object]:
    """``distinct`` good apps in nested folders, two byte-identical copies of one of them, one bad file."""
    apps = fixture_apps()
    good: list[Path] = []
    for i in range(distinct):
        src = apps[i % len(apps)]
        folder = root / f"batch{i % 3}" / ("deep" if i % 2 else "")
        folder.mkdir(parents=True, exist_ok=True)
        dst = folder / f"app{i:03d}-{src.stem}{src.suffix}"
        dst.write_bytes(variant(src.read_bytes(), i))
        good.append(dst)
    copies = [root / "copies" / "same-a.apk", root / "copies" / "same-b.apk"]
    copies[0].parent.mkdir()
    for c in copies:
        shutil.copyfile(good[0], c)
    bad = root / "bad" / "broken.apk"
    bad.parent.mkdir()
    shutil.copyfile(BAD, bad)
    (root / "notes.md").write_text("not an app; folders only take app suffixes\n")
    return {"good": good, "copies": copies, "bad": bad, "files": len(good) + len(copies) + 1}


@pytest.fixture(scope="session")
def fleet_dir(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, object]]:
    root = tmp_path_factory.mktemp("fleet-inputs")
    return root, build_inputs(root, 52)

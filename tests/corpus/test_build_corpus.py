"""scripts/build-corpus restores files from git mirrors by blob id and refuses what does not match."""

from __future__ import annotations

import csv
import hashlib
import subprocess
import sys
from pathlib import Path

from tests.conftest import ROOT

SCRIPT = ROOT / "scripts" / "build-corpus"
FIELDS = ["file", "sha256", "size", "kind", "repository", "commit", "path", "blob", "licence"]


def _mirror(mirrors: Path, repo: str, data: bytes) -> str:
    git_dir = mirrors / repo.replace("/", "+") / "repo"
    subprocess.run(["git", "init", "-q", "--bare", str(git_dir)], check=True)
    proc = subprocess.run(["git", f"--git-dir={git_dir}", "hash-object", "-w", "--stdin"], input=data,
                          capture_output=True, check=True)
    return proc.stdout.decode().strip()


def _manifest(path: Path, rows: list[dict[str, str]]) -> Path:
    with path.open("w", newline="") as fh:
        writer = csv.DictWriter(fh, FIELDS)
        writer.writeheader()
        writer.writerows(rows)
    return path


def _row(name: str, data: bytes, repo: str, blob: str, sha: str | None = None) -> dict[str, str]:
    return {"file": name, "sha256": sha or hashlib.sha256(data).hexdigest(), "size": str(len(data)), "kind": "test",
            "repository": repo, "commit": "0" * 40, "path": f"apks/{name}", "blob": blob, "licence": "none stated"}


def _run(tmp: Path, manifest: Path, mirrors: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, str(SCRIPT), "--manifest", str(manifest), "--mirrors", str(mirrors),
                           "--out", str(tmp / "out"), "--quiet"], capture_output=True, text=True, check=False)


def test_restores_by_blob_and_checks_sha256(tmp_path: Path) -> None:
    data = b"PK\x05\x06" + bytes(18)
    blob = _mirror(tmp_path / "mirrors", "owner/apps", data)
    manifest = _manifest(tmp_path / "m.csv", [_row("a.apk", data, "owner/apps", blob)])
    proc = _run(tmp_path, manifest, tmp_path / "mirrors")
    assert proc.returncode == 0, proc.stderr
    assert (tmp_path / "out" / "a.apk").read_bytes() == data
    assert "1 of 1 files present" in proc.stdout
    again = _run(tmp_path, manifest, tmp_path / "mirrors")  # already there: nothing to do, still fine
    assert again.returncode == 0


def test_missing_mirror_and_bad_hash_fail_by_name(tmp_path: Path) -> None:
    data = b"apk bytes"
    blob = _mirror(tmp_path / "mirrors", "owner/apps", data)
    rows = [_row("gone.apk", data, "other/absent", blob), _row("bad.apk", data, "owner/apps", blob, sha="0" * 64)]
    proc = _run(tmp_path, _manifest(tmp_path / "m.csv", rows), tmp_path / "mirrors")
    assert proc.returncode == 1
    assert "mirror of other/absent not found" in proc.stderr
    assert "bad.apk: sha256" in proc.stderr and "does not match" in proc.stderr
    assert not (tmp_path / "out" / "bad.apk").exists() and not (tmp_path / "out" / "gone.apk").exists()


def test_refuses_an_output_inside_the_repository(tmp_path: Path) -> None:
    proc = subprocess.run([sys.executable, str(SCRIPT), "--out", str(ROOT / "corpus" / "apks")],
                          capture_output=True, text=True, check=False)
    assert proc.returncode == 2 and "inside the repository" in proc.stderr

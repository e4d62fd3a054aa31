"""Turn the fleet's INPUT arguments into a list of files: folders (recursive), files, list files."""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Sequence
from pathlib import Path

from appvet.errors import UsageError

APP_SUFFIXES = frozenset({".apk", ".apks", ".xapk", ".apkm", ".aab", ".ipa"})
"""Files taken from a folder. A file named on the command line or in a list is taken whatever its name."""
LIST_SUFFIXES = frozenset({".txt", ".lst", ".list"})
"""A file with one of these suffixes is a list of paths, one a line (``#`` starts a comment)."""
MAX_LIST_BYTES = 64 * 1024**2


def discover(inputs: Sequence[str | Path]) -> list[Path]:
    """Every app file named by ``inputs``, resolved, each once, in a stable order. ``UsageError`` if one is missing."""
    seen: dict[Path, None] = {}
    for item in inputs:
        for path in _expand(Path(item), depth=0):
            seen.setdefault(path.resolve(), None)
    return list(seen)


def _expand(path: Path, depth: int) -> Iterable[Path]:
    if path.is_dir():
        return sorted(p for p in path.rglob("*") if p.is_file() and p.suffix.lower() in APP_SUFFIXES)
    if not path.is_file():
        raise UsageError(f"fleet input not found: {path}")
    if path.suffix.lower() in LIST_SUFFIXES:
        if depth > 0:
            raise UsageError(f"a list file may not name another list file: {path}")
        return [p for line in _list_lines(path) for p in _expand(_relative(path, line), depth + 1)]
    return [path]


def _relative(list_file: Path, line: str) -> Path:
    # Relative paths in a list are read from the list's folder, so a list travels with its apps.
    p = Path(line)
    return p if p.is_absolute() else list_file.parent / p


def _list_lines(path: Path) -> list[str]:
    if path.stat().st_size > MAX_LIST_BYTES:
        raise UsageError(f"list file larger than {MAX_LIST_BYTES // 1024**2} MiB: {path}")
    try:
        text = path.read_text("utf-8")
    except UnicodeDecodeError as exc:
        raise UsageError(f"list file is not UTF-8 text: {path}") from exc
    lines = (raw.split("#", 1)[0].strip() for raw in text.splitlines())
    return [line for line in lines if line]


def sha256_file(path: Path, chunk: int = 1024 * 1024) -> str:
    h = hashlib.sha256()
    with path.open("rb") as fh:
        while block := fh.read(chunk):
            h.update(block)
    return h.hexdigest()

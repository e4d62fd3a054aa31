"""Property lists (Info.plist, PrivacyInfo.xcprivacy, entitlements): XML or binary, through plistlib."""

from __future__ import annotations

import plistlib
from typing import Any

from appvet.errors import FormatError

MAX_PLIST = 16 * 1024**2


def load_plist(data: bytes, file: str, *, want: type = dict) -> Any:
    """Parse ``data``; a malformed or oversized list, or one whose top level is not ``want``, raises FormatError."""
    if len(data) > MAX_PLIST:
        raise FormatError(f"property list of {len(data):,} bytes is above the limit of {MAX_PLIST:,}", file=file)
    if not data.strip():
        raise FormatError("empty property list", file=file)
    try:
        value = plistlib.loads(data)
    except RecursionError:
        raise FormatError("property list nests too deeply", file=file) from None
    except Exception as exc:  # plistlib raises a wide set (InvalidFileException, ValueError, expat errors, ...)
        detail = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise FormatError(f"not a readable property list: {detail}", file=file) from None
    if not isinstance(value, want):
        raise FormatError(f"property list top level is {type(value).__name__}, expected {want.__name__}", file=file)
    return value


def text(value: Any) -> str | None:
    """A string value, or ``None`` for anything else (a malformed plist may hold any type anywhere)."""
    return value if isinstance(value, str) else None


def strings(value: Any) -> list[str]:
    """A list of strings, the non-strings dropped; a single string becomes a one-item list."""
    if isinstance(value, str):
        return [value]
    if isinstance(value, list):
        return [v for v in value if isinstance(v, str)]
    return []

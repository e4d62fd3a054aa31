"""Text from a reviewed app made safe for a person's screen: terminal, Markdown, CSV, one-line messages.

App labels, package names, URLs and entry names are chosen by whoever built the app. Raw, an
escape sequence in them can retitle the window, clear the screen or hide the lines before it, and a
bidirectional override can make a host read as another. Every human-facing output passes such text
through :func:`clean`, which shows each control character as a visible ``\\xNN`` / ``\\uNNNN``
escape instead of sending it. JSON keeps the raw value (its encoder escapes control characters).
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from appvet.model import SdkHit

# C0 and C1 controls, DEL, and the Unicode format characters that reorder or hide text
# (bidi embeddings, overrides and isolates; zero-width joiners and marks; line/paragraph separators).
_CONTROL = re.compile("[\x00-\x1f\x7f-\x9f\u200b-\u200f\u2028-\u202e\u2060-\u2069\ufeff]")
_KEEP_LINES = re.compile("[\x00-\x09\x0b-\x1f\x7f-\x9f\u200b-\u200f\u2028-\u202e\u2060-\u2069\ufeff]")


def _visible(m: re.Match[str]) -> str:
    code = ord(m.group(0))
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def clean(text: object) -> str:
    """One line of text with every control or reordering character shown as an escape, never sent."""
    return _CONTROL.sub(_visible, "" if text is None else str(text))


def clean_lines(text: object) -> str:
    """As :func:`clean`, but keeps newlines (for text the caller itself split into lines)."""
    return _KEEP_LINES.sub(_visible, "" if text is None else str(text))


MANIFEST_KINDS = frozenset({"meta-data", "component"})


def code_found(sdk: SdkHit) -> str:
    """How much of the SDK's code is in the app; an SDK known only from manifest entries says so."""
    if sdk.class_count == 0 and set(sdk.matched_by) <= MANIFEST_KINDS:
        return "manifest only: no code of it found"
    return f"{sdk.class_count} {'class' if sdk.class_count == 1 else 'classes'}"

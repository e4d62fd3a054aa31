"""Registrable domain of a plain ASCII host, from the Public Suffix List snapshot that tldextract ships.

tldextract answers the same question for any host, but importing it loads an HTTP client and building its
trie parses the whole list on every start: most of a small app's review. Here the list's rules are read
into one set of label suffixes, and the lookup walks the same steps as tldextract's (ICANN section only,
wildcards and their exceptions). Any host this does not cover (upper case, punycode, non-ASCII, empty
labels) returns ``NOT_PLAIN`` and the caller asks tldextract.
"""

from __future__ import annotations

import importlib.util
import re
from functools import cache
from pathlib import Path

NOT_PLAIN = object()
"""Returned for a host this module does not decide."""

_PLAIN = re.compile(r"[a-z0-9_-]+(?:\.[a-z0-9_-]+)*")
# The pattern tldextract reads rules with, so that both read the same rules from the same text.
_RULE = re.compile(r"^(?P<suffix>[.*!]*\w[\S]*)", re.UNICODE | re.MULTILINE)
_PRIVATE_MARK = "// ===BEGIN PRIVATE DOMAINS==="


def snapshot_path() -> Path | None:
    """tldextract's bundled list, found without importing tldextract."""
    spec = importlib.util.find_spec("tldextract")
    if spec is None or not spec.submodule_search_locations:
        return None
    path = Path(next(iter(spec.submodule_search_locations))) / ".tld_set_snapshot"
    return path if path.is_file() else None


@cache
def _tables() -> tuple[frozenset[str], frozenset[str]] | None:
    """(rules, every label suffix of every rule) of the ICANN section; None when the snapshot is missing."""
    path = snapshot_path()
    if path is None:
        return None
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        return None
    public = text.partition(_PRIVATE_MARK)[0]
    rules = frozenset(m.group("suffix") for m in _RULE.finditer(public))
    tails: set[str] = set()
    for rule in rules:
        labels = rule.split(".")
        for i in range(len(labels)):
            tails.add(".".join(labels[i:]))
    return rules, frozenset(tails)


def registrable(host: str) -> str | object:
    """``a.b.qq.com`` -> ``qq.com``; ``""`` when the host has no registrable domain; ``NOT_PLAIN`` if undecided."""
    tables = _tables()
    if tables is None or not _PLAIN.fullmatch(host) or "xn--" in host:
        return NOT_PLAIN
    rules, tails = tables
    labels = host.split(".")
    n = len(labels)
    suffix_at = n
    at = n
    tail = ""
    for label in reversed(labels):
        here = f"{label}.{tail}" if tail else label
        if here in tails:
            at -= 1
            tail = here
            if here in rules:
                suffix_at = at
            continue
        star = f"*.{tail}" if tail else "*"
        if star in tails:
            exception = f"!{here}" in tails
            suffix_at = at if exception else at - 1
        break
    if suffix_at >= n or suffix_at <= 0:
        return ""
    return f"{labels[suffix_at - 1]}.{'.'.join(labels[suffix_at:])}"

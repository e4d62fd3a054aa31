"""Lookups the review makes against the knowledge base: who signed an APK, which ban lists name an app.

Both are pure functions of a loaded :class:`~appvet.kb.KnowledgeBase` and their arguments. The
signer index is built once per knowledge base and kept in a weak map, so a long-lived process that
reloads the knowledge base does not keep old indexes alive.
"""

from __future__ import annotations

import re
import unicodedata
import weakref
from datetime import date
from typing import Any

from appvet.kb.bans import status_for_app
from appvet.kb.knowledge import KnowledgeBase
from appvet.kb.model import BanList

_LEGAL_SUFFIXES = frozenset(
    {
        "co", "company", "corp", "corporation", "inc", "incorporated", "llc", "ltd", "limited", "pte", "plc",
        "gmbh", "ag", "sa", "sas", "sarl", "bv", "nv", "srl", "spa", "oy", "ab", "kk", "pty", "lp", "llp",
        "technology", "technologies", "tech", "information", "network", "networks", "software", "holdings",
        "holding", "group", "intl", "international",
    }
)  # fmt: skip
"""Trailing words that vary between a certificate's ``O=`` and the registered name; dropped from the end only."""

_GENERIC = frozenset(
    {
        "android", "android debug", "unknown", "test", "debug", "company", "organization",
        "organisation", "none", "na", "n a", "developer", "example", "release", "apps", "app", "mobile",
    }
)  # fmt: skip
"""Names that say nothing about who built an app: never resolved to an entity."""

_MIN_KEY = 3
_PAREN = re.compile(r"[(\uff08][^()\uff08\uff09]*[)\uff09]")
_NON_WORD = re.compile(r"[^\w]+")
_DN_O = re.compile(r"(?:^|[,/;+]\s*)O\s*=\s*((?:[^,\\/;+]|\\.)*)", re.IGNORECASE)

_signer_index: weakref.WeakKeyDictionary[KnowledgeBase, dict[str, tuple[str, ...]]] = weakref.WeakKeyDictionary()


def normalise_org(name: str) -> str:
    """Comparable form of a company name: case, punctuation, parentheses and trailing legal words removed.

    ``"Beijing ByteDance Technology Co., Ltd."`` and ``"BEIJING BYTEDANCE TECHNOLOGY CO LTD"`` both give
    ``"beijing bytedance"``; ``"Tencent Technology (Shenzhen) Company Limited"`` gives ``"tencent"``.
    """
    text = unicodedata.normalize("NFKC", name).casefold()
    text = _PAREN.sub(" ", text)
    words = [w for w in _NON_WORD.sub(" ", text).split() if w]
    while len(words) > 1 and words[-1] in _LEGAL_SUFFIXES:
        words.pop()
    return " ".join(words)


def _exact_key(name: str) -> str:
    """Case, punctuation and parentheses removed, legal words kept (``Bytedance Pte. Ltd.`` != ``ByteDance Ltd.``)."""
    text = _PAREN.sub(" ", unicodedata.normalize("NFKC", name).casefold())
    return " ".join(w for w in _NON_WORD.sub(" ", text).split() if w)


def _index(kb: KnowledgeBase) -> dict[str, tuple[str, ...]]:
    """``"=" + exact key`` and ``normalised key`` -> entity ids carrying that name or alias."""
    cached = _signer_index.get(kb)
    if cached is not None:
        return cached
    keys: dict[str, list[str]] = {}
    for ent in kb.entities.values():
        for name in (ent.name, *ent.aliases):
            for key, lookup in ((normalise_org(name), normalise_org(name)), ("=" + _exact_key(name), _exact_key(name))):
                if len(lookup) < _MIN_KEY or lookup in _GENERIC:
                    continue
                ids = keys.setdefault(key, [])
                if ent.id not in ids:
                    ids.append(ent.id)
    index = {k: tuple(v) for k, v in keys.items()}
    _signer_index[kb] = index
    return index


def match_signer(kb: KnowledgeBase, organisation: str | None) -> str | None:
    """Entity id whose name or alias matches a signing certificate's ``O=``, or ``None``.

    Matching is exact after :func:`normalise_org`, never by substring, so an unknown company that
    shares a word with a known one (``Beijing Demo Technology Co Ltd``) does not match. Names that
    identify nobody (``Android``, ``Android Debug``, ``Unknown``) give ``None``. When unrelated
    entities share the name the answer is ``None``; within one group the name spelt out exactly
    (legal words included) decides, else the group's parent is returned.
    """
    if not organisation:
        return None
    if "=" in organisation:
        # A whole distinguished name (or ``O=...``) was passed: only the organisation names the signer.
        found = _DN_O.search(organisation)
        if found is None:
            return None
        organisation = found.group(1).replace("\\", "")
    key = normalise_org(organisation)
    if len(key) < _MIN_KEY or key in _GENERIC:
        return None
    index = _index(kb)
    exact = index.get("=" + _exact_key(organisation), ())
    if len(exact) == 1:
        return exact[0]
    ids = index.get(key)
    if not ids:
        return None
    if len(ids) == 1:
        return ids[0]
    # Several entities of one group share the name (``Bytedance Pte. Ltd.``, ``ByteDance Ltd.``): the
    # certificate does not say which, so answer with the one the others belong to, if there is one.
    chains = {i: {e.id for e in kb.owner_chain(i)} for i in ids}
    for candidate in ids:
        if all(candidate in chains[other] for other in ids):
            return candidate
    return None


def _list_summary(ban: BanList, on: date, package: str | None = None, name: str | None = None) -> dict[str, Any]:
    state = status_for_app(ban, on, package, name)
    decided = state.event
    revoked = ban.revoked if ban.revoked is not None and on.isoformat() >= ban.revoked else None
    return {
        "list": ban.id,
        "name": ban.name,
        "jurisdiction": ban.jurisdiction,
        "subdivision": ban.subdivision,
        "institution": ban.institution,
        "authority": ban.authority,
        "instrument": ban.instrument,
        "scope": ban.scope,
        "devices": ban.devices,
        "date": ban.date,
        "effective": ban.effective,
        "status": state.status,
        "in_force": state.in_force,
        "status_since": state.since,
        "status_by": decided.title if decided else None,
        "status_kind": decided.kind if decided else None,
        "status_sources": [s.url for s in decided.sources] if decided else [],
        "delay_until": state.until,
        "on": on.isoformat(),
        "revoked": revoked,
        "revoked_by": ban.revoked_by if revoked else None,
        "complete": ban.complete,
        "sources": [s.url for s in ban.sources],
    }


def bans_for_app(kb: KnowledgeBase, package: str | None, label: str | None, on: date) -> list[dict[str, Any]]:
    """Every ban list naming the app, with the list's status on ``on``.

    A row with a package matches by package only (exactly); a row without one matches when the
    app's label equals the listed name (case-insensitive, surrounding space ignored). Lists are
    returned in knowledge-base order; a list naming the app twice is reported once.
    """
    label_key = " ".join(label.casefold().split()) if label else ""
    found: list[dict[str, Any]] = []
    for ban in kb.ban_lists.values():
        for app in ban.apps:
            if app.package is not None:
                hit = package is not None and package == app.package
                how = "package"
            else:
                hit = bool(label_key) and label_key == " ".join(app.name.casefold().split())
                how = "name"
            if hit:
                entry = _list_summary(ban, on, app.package, app.name)
                entry.update(matched_by=how, listed_name=app.name, listed_package=app.package)
                if app.sources:
                    entry["package_sources"] = [s.url for s in app.sources]
                found.append(entry)
                break
    return found


def bans_for_controller(kb: KnowledgeBase, entity_id: str | None, on: date) -> list[dict[str, Any]]:
    """Ban lists covering every app of an entity on the given entity's owner chain (e.g. ByteDance under PAFACA)."""
    if not entity_id:
        return []
    chain = {e.id for e in kb.owner_chain(entity_id, on)}
    found: list[dict[str, Any]] = []
    for ban in kb.ban_lists.values():
        hit = next((c for c in ban.controllers if c in chain), None)
        if hit is not None:
            entry = _list_summary(ban, on)
            entry.update(matched_by="controller", controller=hit)
            found.append(entry)
    return found

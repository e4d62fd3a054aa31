"""``appvet kb validate`` checks of ban and restriction lists: every event sourced, dated and in order.

Kept apart from the entity and signature checks in :mod:`appvet.kb.stats`, which calls
:func:`validate_ban_lists` and adds its problems to the rest.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator

from appvet.kb.bans import EVENT_KINDS
from appvet.kb.knowledge import KnowledgeBase
from appvet.kb.model import BanList

_OPENING = ("order", "effective")
"""Kinds that may come first: everything else acts on a list that already exists."""

_REPORTED_AFTER = frozenset({"ruling", "injunction", "injunction-lifted", "revocation", "lifted", "divestiture"})
"""Kinds a source can only state once they happened; an order can announce its own effective date or expiry."""

_NEWS_ONLY = "no primary source"
"""A note containing this says why an event rests on reports only (no published instrument)."""


def _list_problems(ban: BanList) -> Iterator[str]:
    where = f"ban-list {ban.id}"
    if not ban.events:
        yield f"{where}: no events; its status cannot be computed"
        return
    if not any(e.kind == "order" for e in ban.events):
        yield f"{where}: no 'order' event (the instrument's issue or enactment)"
    first_kind = ban.events[0].kind
    if first_kind not in _OPENING:
        yield f"{where}: first event is {first_kind!r}, before any order"
    dates = [e.date for e in ban.events]
    if dates != sorted(dates):
        yield f"{where}: events are not in date order"
    listed = {k for a in ban.apps for k in (a.package, a.name) if k}
    order_date = ban.date
    for e in ban.events:
        at = f"{where}: {e.kind} event of {e.date}"
        if e.kind not in EVENT_KINDS:
            yield f"{at}: unknown kind (expected one of {', '.join(EVENT_KINDS)})"
        if not e.sources:
            yield f"{at}: no source"
        elif not any(s.primary for s in e.sources) and _NEWS_ONLY not in e.note.casefold():
            yield f"{at}: only secondary sources; cite the instrument or say in the note why there is {_NEWS_ONLY}"
        for src in e.sources if e.kind in _REPORTED_AFTER and e.precision == "day" else ():
            if src.as_of < e.date:
                yield f"{at}: source {src.url} is dated {src.as_of}, before the event"
        if e.kind in ("effective", "delay", "injunction", "revocation", "expiry", "divestiture", "lifted") and (
            e.date < order_date
        ):
            yield f"{at}: dated before the order of {order_date}"
        if e.kind == "delay":
            if e.until is None:
                yield f"{at}: a delay needs 'until' (its last day)"
            elif e.until < e.date:
                yield f"{at}: 'until' {e.until} is before the delay starts"
        elif e.until is not None:
            yield f"{at}: 'until' is only meaningful for a delay"
        for app in e.apps:
            if app not in listed:
                yield f"{at}: app {app!r} is not listed by this list"
    if not ban.apps and not ban.controllers and not ban.developers and ban.complete:
        yield f"{where}: names no app, controller or developer, yet is marked complete"
    if ban.count_declared is not None:
        if len(ban.apps) > ban.count_declared:
            yield f"{where}: {len(ban.apps)} apps listed, more than the {ban.count_declared} declared"
        elif len(ban.apps) < ban.count_declared and ban.complete:
            yield f"{where}: {len(ban.apps)} of {ban.count_declared} declared apps, yet marked complete"
    packages = Counter(a.package for a in ban.apps if a.package)
    for pkg, n in sorted(packages.items()):
        if n > 1:
            yield f"{where}: package {pkg} listed {n} times"
    if ban.scope == "government-devices" and ban.devices != "government":
        yield f"{where}: scope government-devices but devices {ban.devices!r}"
    if ban.subdivision is not None and not ban.subdivision.startswith(ban.jurisdiction + "-"):
        yield f"{where}: subdivision {ban.subdivision} is not in {ban.jurisdiction}"


def validate_ban_lists(kb: KnowledgeBase) -> list[str]:
    """Problems of the ban lists: missing or secondary-only sources, events out of order, unknown kinds."""
    problems: list[str] = []
    for ban in kb.ban_lists.values():
        problems.extend(_list_problems(ban))
    return problems

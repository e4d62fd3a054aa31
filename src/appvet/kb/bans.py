"""The status of a ban or restriction list on a day, computed from its dated events.

A list is never given a status by hand: its events (an order, the day it takes effect, a court's
injunction, an executive delay of enforcement, a revocation, a divestiture, an expiry) are replayed
in date order up to the day asked about. The answer names the event that decided it, so a reviewer
can cite the instrument behind every status.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from appvet.kb.model import BanEvent, BanList

EVENT_KINDS: dict[str, str] = {
    "order": "issued, enacted, signed or announced",
    "effective": "takes effect (when later than the order)",
    "amendment": "changes the list's scope or terms; the status is unchanged",
    "ruling": "a court decision that leaves the list in force (e.g. upholds it)",
    "delay": "the executive directs that it not be enforced, from the event's date through 'until'",
    "injunction": "a court bars its enforcement",
    "injunction-lifted": "a court's injunction ends (dissolved, vacated or reversed)",
    "revocation": "withdrawn or repealed by a later instrument",
    "expiry": "lapses on its own terms",
    "lifted": "the authority that imposed a restriction ends it",
    "divestiture": "the covered app or business is divested as the instrument provides; it is no longer covered",
}
"""Known event kinds and what each does to the status."""

STATUSES: dict[str, str] = {
    "not-yet-issued": "before the first order",
    "not-yet-effective": "issued, not yet in effect",
    "in-force": "in effect and enforceable",
    "enforcement-delayed": "in effect, but the executive has directed that it not be enforced for a period",
    "enjoined": "a court bars its enforcement",
    "revoked": "withdrawn or repealed",
    "expired": "lapsed on its own terms",
    "lifted": "ended by the authority that imposed it",
    "divested": "no longer covers the app: a qualifying divestiture took place",
}

IN_FORCE = frozenset({"in-force", "enforcement-delayed"})
"""Statuses under which the restriction is law on the day; a delay of enforcement does not repeal it."""

_ENDS = {"revocation": "revoked", "expiry": "expired", "lifted": "lifted", "divestiture": "divested"}


@dataclass(frozen=True)
class BanStatus:
    """A list's status on a day, with the event that decided it."""

    status: str
    on: str
    event: BanEvent | None
    """The latest event that set ``status`` (``None`` before any event)."""
    until: str | None = None
    """For ``enforcement-delayed``: the last day of the delay in effect."""

    @property
    def in_force(self) -> bool:
        return self.status in IN_FORCE

    @property
    def since(self) -> str | None:
        return self.event.date if self.event else None


def applies_to(event: BanEvent, app: str | None) -> bool:
    """An event limited to some apps counts only for them; an unlimited one counts for every app."""
    if not event.apps:
        return True
    if app is None:
        return False
    key = " ".join(app.casefold().split())
    return any(key == " ".join(a.casefold().split()) for a in event.apps)


def status_on(ban: BanList, on: date, app: str | None = None) -> BanStatus:
    """Replay ``ban.events`` up to and including ``on``.

    ``app`` (a package or a listed name) selects events limited to some apps, such as a
    divestiture of one app; with ``app=None`` only events for the whole list count. An order with
    no ``effective`` event takes effect on its own date.
    """
    day = on.isoformat()
    has_effective = any(e.kind == "effective" for e in ban.events)
    issued: BanEvent | None = None
    effective: BanEvent | None = None
    injunction: BanEvent | None = None
    resumed: BanEvent | None = None
    """The latest event that put the list back in force (an injunction lifted)."""
    ended: BanEvent | None = None
    delay: BanEvent | None = None
    for event in ban.events:
        if event.date > day:
            break
        if not applies_to(event, app):
            continue
        kind = event.kind
        if kind == "order":
            issued = issued or event
            if not has_effective and effective is None:
                effective = event
        elif kind == "effective":
            issued = issued or event
            effective = effective or event
        elif kind == "injunction":
            injunction = event
        elif kind == "injunction-lifted":
            injunction, resumed = None, event
        elif kind == "delay":
            delay = event
        elif kind in _ENDS:
            ended = event
    if ended is not None:
        return BanStatus(_ENDS[ended.kind], day, ended)
    if issued is None:
        return BanStatus("not-yet-issued", day, None)
    if injunction is not None:
        return BanStatus("enjoined", day, injunction)
    if effective is None:
        return BanStatus("not-yet-effective", day, issued)
    if delay is not None and (delay.until is None or day <= delay.until):
        return BanStatus("enforcement-delayed", day, delay, delay.until)
    latest = max((e for e in (effective, resumed) if e is not None), key=lambda e: e.date)
    return BanStatus("in-force", day, latest)


def status_for_app(ban: BanList, on: date, package: str | None, name: str | None) -> BanStatus:
    """The list's status for one listed app: an event limited to the app by package or by name counts."""
    whole = status_on(ban, on)
    if not any(e.apps for e in ban.events):
        return whole
    # An app-limited event may name the app by its package or by its listed name; the package is tried first.
    for key in (package, name):
        if key:
            specific = status_on(ban, on, key)
            if specific != whole:
                return specific
    return whole

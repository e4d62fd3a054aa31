"""Knowledge-base rows as loaded. Every row keeps the sources it was taken from."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

from appvet.model import Source


@dataclass(frozen=True)
class OwnershipChange:
    """From ``date`` on, ``parent`` (``None``: no parent) holds the entity.

    Before an entity's earliest change no parent is recorded: the entity was independent or its owner is unknown.
    """

    date: str
    """ISO date on which the change took effect (closing of a merger, a divestiture, a joint venture)."""
    parent: str | None
    sources: tuple[Source, ...]
    parent_share: float | None = None
    note: str = ""


@dataclass(frozen=True)
class Entity:
    """A company or organisation."""

    id: str
    name: str
    country_hq: str | None
    """ISO 3166-1 alpha-2, upper case."""
    country_inc: str | None
    parent: str | None
    """Entity id of the direct parent, if any."""
    sources: tuple[Source, ...]
    aliases: tuple[str, ...] = ()
    parent_share: float | None = None
    """Share of this entity held by ``parent`` (0..1), when known."""
    domains: tuple[str, ...] = ()
    """Registrable domains (or hosts) the entity operates; ``entity_for_host`` resolves them."""
    ownership: tuple[OwnershipChange, ...] = ()
    """Dated changes of ``parent``, oldest first; the last one states the current ``parent``."""
    no_country: str = ""
    """Why no country is given (a community project that no company controls); empty for organisations."""

    def change_on(self, on: date) -> OwnershipChange | None:
        """The latest ownership change at or before a date; ``None`` before the first one or without any."""
        day = on.isoformat()
        current = None
        for change in self.ownership:
            if change.date > day:
                break
            current = change
        return current

    def parent_on(self, on: date) -> tuple[str | None, float | None]:
        """Direct parent and share on a date: the latest change at or before it, else ``parent``."""
        if not self.ownership:
            return self.parent, self.parent_share
        change = self.change_on(on)
        return (change.parent, change.parent_share) if change is not None else (None, None)


@dataclass(frozen=True)
class Library:
    """An open-source library: code the developer bundled, held by its project, not by a vendor's SDK."""

    id: str
    name: str
    owner: str
    """Entity id of the project, foundation or company that maintains it."""
    licence: str
    """SPDX identifier of its licence."""
    class_prefixes: tuple[str, ...]
    native_libs: tuple[str, ...]
    ships: tuple[str, ...]
    """Prefixes of code the library carries inside it under another name (osmdroid's
    ``microsoft.mappoint.``): when the library is present, that code is the library's."""
    sources: tuple[Source, ...]


@dataclass(frozen=True)
class Sdk:
    """A third-party library and how it is recognised."""

    id: str
    name: str
    owner: str | None
    """Entity id; ``None`` when no source establishes who controls the code (see ``owner_unknown``)."""
    categories: tuple[str, ...]
    class_prefixes: tuple[str, ...]
    """Java package/class prefixes in dotted form, ending with ``.`` for a package (``com.umeng.analytics.``)."""
    native_libs: tuple[str, ...]
    """File names of native libraries (``libBugly.so``)."""
    meta_data: tuple[str, ...]
    """Manifest ``<meta-data android:name>`` keys (``UMENG_APPKEY``)."""
    components: tuple[str, ...]
    """Fully-qualified manifest component class names."""
    domains: tuple[str, ...]
    sources: tuple[Source, ...]
    weak_prefixes: tuple[str, ...] = ()
    """Prefixes too generic to trust alone: they count only when another signature of the SDK matched."""
    exodus_id: int | None = None
    owner_unknown: str = ""
    """Why the owner is not established, when ``owner`` is ``None``: the code is recognised, its controller
    is not, and policies must treat its countries as unknown rather than as none."""


@dataclass(frozen=True)
class SensitiveApi:
    """A framework member or string whose use yields a data category."""

    kind: str
    """``method`` (``Landroid/telephony/TelephonyManager;->getLine1Number``), ``field``
    (``Landroid/provider/ContactsContract$Contacts;->CONTENT_URI``) or ``string`` (a prefix such as
    ``content://com.android.contacts``)."""
    ref: str
    category: str
    sources: tuple[Source, ...]
    note: str = ""


@dataclass(frozen=True)
class DataCategoryInfo:
    id: str
    label: str
    description: str
    permissions: tuple[str, ...] = field(default=())
    """Android permissions whose grant yields this category."""
    sources: tuple[Source, ...] = ()


@dataclass(frozen=True)
class BannedApp:
    """One app named by a ban or restriction list."""

    name: str
    """The name as the instrument (or the release announcing it) prints it."""
    package: str | None = None
    """Android application id, when a source ties the listed app to one."""
    sources: tuple[Source, ...] = ()
    """Where the package name was read (the list's own sources cover the name)."""
    note: str = ""


@dataclass(frozen=True)
class EventSource:
    """Where a ban-list event was read: the instrument itself (``primary``) or a report of it (``secondary``)."""

    url: str
    as_of: str
    """ISO date on which the source stated the fact."""
    primary: bool = False
    """The instrument itself or its official publication: Federal Register, public law, court order,
    a government's own release. ``False`` for news and commentary."""
    title: str = ""
    read: str | None = None
    """Date the source was last read to check the event, when recorded."""


@dataclass(frozen=True)
class BanEvent:
    """One dated legal step in the life of a ban list; the list's status on a day is computed from these."""

    date: str
    """ISO date; with ``precision`` ``month`` or ``year`` only the leading part is known (the rest is 01)."""
    kind: str
    """One of :data:`appvet.kb.bans.EVENT_KINDS`."""
    title: str
    """The instrument or decision, as cited (``Executive Order 14166``, ``Alario v. Knudsen, D. Mont.``)."""
    sources: tuple[EventSource, ...]
    precision: str = "day"
    until: str | None = None
    """Last day of a ``delay`` (non-enforcement period), when it states one."""
    apps: tuple[str, ...] = ()
    """Packages or listed names the event is limited to (a divestiture of one app); empty: the whole list."""
    summary: str = ""
    note: str = ""


@dataclass(frozen=True)
class BanList:
    """A government order or statute that bans or restricts named apps (or apps of named controllers).

    Dates are not stored as fields: ``date``, ``effective`` and ``revoked`` are read off ``events``,
    and the status on a day is computed by :func:`appvet.kb.bans.status_on`.
    """

    id: str
    name: str
    jurisdiction: str
    """ISO 3166-1 alpha-2 of the state that issued it (``EU`` for institutions of the European Union)."""
    authority: str
    instrument: str
    """The legal instrument: ``Executive Order 13942``, ``Pub. L. 118-50, div. H`` ..."""
    scope: str
    """What is restricted: ``blocking`` (access blocked), ``transactions``, ``distribution`` (app stores, hosting),
    ``government-devices`` (installation and use on devices and networks of the issuing body)."""
    sources: tuple[Source, ...]
    events: tuple[BanEvent, ...] = ()
    """Oldest first."""
    apps: tuple[BannedApp, ...] = ()
    controllers: tuple[str, ...] = ()
    """Entity ids whose apps the instrument covers as a class (e.g. any app operated by ByteDance)."""
    developers: tuple[str, ...] = ()
    """Companies the instrument names, as it names them, when the knowledge base holds no entity for them."""
    devices: str = "all"
    """``all`` or ``government`` (devices and networks of the issuing government or institution)."""
    subdivision: str | None = None
    """ISO 3166-2 code when a state or province issued it (``US-MT``)."""
    institution: str | None = None
    """The body whose own devices are covered, when narrower than a whole government (``European Commission``)."""
    group: str | None = None
    """Lists that belong together (``us-state-government-devices``)."""
    count_declared: int | None = None
    """Number of apps the instrument states; more than ``len(apps)`` when the published list is not complete."""
    complete: bool = True
    """``False`` when the rows here are only part of the instrument's list."""
    note: str = ""

    def _first(self, *kinds: str) -> BanEvent | None:
        return next((e for e in self.events if e.kind in kinds), None)

    @property
    def date(self) -> str:
        """Date issued or enacted: the first ``order`` event (the first event if there is none)."""
        first = self._first("order") or (self.events[0] if self.events else None)
        return first.date if first else "0000-00-00"

    @property
    def effective(self) -> str | None:
        event = self._first("effective")
        return event.date if event else None

    @property
    def revoked(self) -> str | None:
        event = self._first("revocation")
        return event.date if event else None

    @property
    def revoked_by(self) -> str | None:
        event = self._first("revocation")
        return event.title if event else None

    def status_on(self, on: date, app: str | None = None) -> str:
        """Status on a day, computed from the events (see :func:`appvet.kb.bans.status_on`)."""
        from appvet.kb.bans import status_on

        return status_on(self, on, app).status


@dataclass(frozen=True)
class CountryList:
    """A named list of countries a policy can refer to (``us-foreign-adversaries``, ``eu-adequacy``)."""

    id: str
    name: str
    instrument: str
    as_of: str
    """Date the list is stated for."""
    countries: tuple[str, ...]
    sources: tuple[Source, ...]
    qualifiers: tuple[tuple[str, str], ...] = ()
    """``(country, limitation)`` for members listed with a limitation (e.g. only certified organisations)."""
    note: str = ""


@dataclass(frozen=True)
class LawFact:
    """A law that lets a state compel data or assistance from organisations under its jurisdiction."""

    id: str
    title: str
    adopted: str
    provisions: tuple[str, ...]
    """Articles or sections relied on (``art. 7``)."""
    summary: str
    """What the provisions require, in neutral words close to the source's."""
    sources: tuple[Source, ...]
    effective: str | None = None


@dataclass(frozen=True)
class JurisdictionProfile:
    """A country and the sourced laws under which it can compel data from companies it controls."""

    country: str
    name: str
    laws: tuple[LawFact, ...]
    sources: tuple[Source, ...]
    note: str = ""

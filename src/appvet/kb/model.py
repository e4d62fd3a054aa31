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

    def parent_on(self, on: date) -> tuple[str | None, float | None]:
        """Direct parent and share on a date: the latest change at or before it, else ``parent``."""
        if not self.ownership:
            return self.parent, self.parent_share
        day = on.isoformat()
        current: tuple[str | None, float | None] = (None, None)
        for change in self.ownership:
            if change.date > day:
                break
            current = (change.parent, change.parent_share)
        return current


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
class BanList:
    """A government order or statute that bans or restricts named apps (or apps of named controllers)."""

    id: str
    name: str
    jurisdiction: str
    """ISO 3166-1 alpha-2 of the state that issued it."""
    authority: str
    instrument: str
    """The legal instrument: ``Executive Order 13942``, ``Pub. L. 118-50, div. H`` ..."""
    date: str
    """Date issued or enacted."""
    scope: str
    """What is restricted: ``blocking`` (access blocked), ``transactions``, ``distribution`` (app stores, hosting),
    ``government-devices``."""
    sources: tuple[Source, ...]
    apps: tuple[BannedApp, ...] = ()
    controllers: tuple[str, ...] = ()
    """Entity ids whose apps the instrument covers as a class (e.g. any app operated by ByteDance)."""
    effective: str | None = None
    """Date the restriction took effect, when later than ``date``."""
    revoked: str | None = None
    """Date of revocation, if revoked."""
    revoked_by: str | None = None
    """The revoking instrument."""
    count_declared: int | None = None
    """Number of apps the instrument states; more than ``len(apps)`` when the published list is not complete."""
    complete: bool = True
    """``False`` when the rows here are only part of the instrument's list."""
    note: str = ""

    def status_on(self, on: date) -> str:
        """``not-yet-issued``, ``not-yet-effective``, ``in-force`` or ``revoked`` on the given date."""
        day = on.isoformat()
        if day < self.date:
            return "not-yet-issued"
        if self.revoked is not None and day >= self.revoked:
            return "revoked"
        if self.effective is not None and day < self.effective:
            return "not-yet-effective"
        return "in-force"


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

"""Knowledge-base rows as loaded. Every row keeps the sources it was taken from."""

from __future__ import annotations

from dataclasses import dataclass, field

from appvet.model import Source


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


@dataclass(frozen=True)
class Sdk:
    """A third-party library and how it is recognised."""

    id: str
    name: str
    owner: str
    """Entity id."""
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

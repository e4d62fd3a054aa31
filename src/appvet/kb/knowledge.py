"""The loaded knowledge base and its compiled matchers.

Every lookup here runs inside hot loops (one call per class of a 100k-class app, one per
invoke site), so signatures are compiled once into plain dicts when the knowledge base is built,
and each lookup is a handful of dict probes. Nothing in this module touches the file system.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from appvet.kb.model import (
    BanList,
    CountryList,
    DataCategoryInfo,
    Entity,
    JurisdictionProfile,
    Library,
    Sdk,
    SensitiveApi,
)

_MEMO_LIMIT = 400_000
"""Package-lookup memo entries kept before the memo is cleared, so memory stays bounded across apps."""

_ANDROID_PERMISSION = "android.permission."


@dataclass
class _PrefixMatcher:
    """Longest-prefix lookup of dotted class names.

    ``packages`` holds prefixes ending in ``.`` (a package and everything below it); ``classes``
    holds prefixes naming one class (which also covers its nested ``$`` classes). A class name is
    resolved by probing its enclosing packages from the innermost outwards; results are memoised per
    package because an app's classes share few packages.
    """

    packages: dict[str, str] = field(default_factory=dict)
    classes: dict[str, str] = field(default_factory=dict)
    memo: dict[str, str | None] = field(default_factory=dict)

    def add(self, prefix: str, sdk_id: str) -> None:
        if prefix.endswith("."):
            self.packages[prefix] = sdk_id
        else:
            self.classes[prefix] = sdk_id

    def lookup(self, name: str) -> str | None:
        if self.classes:
            hit = self.classes.get(name)
            if hit is None and "$" in name:
                hit = self.classes.get(name.split("$", 1)[0])
            if hit is not None:
                return hit
        if not self.packages:
            return None
        end = name.rfind(".")
        if end < 0:
            return None
        package = name[: end + 1]
        memo = self.memo
        if package in memo:
            return memo[package]
        found: str | None = None
        packages = self.packages
        while end > 0:
            hit = packages.get(package[: end + 1])
            if hit is not None:
                found = hit
                break
            end = package.rfind(".", 0, end)
        if len(memo) >= _MEMO_LIMIT:
            memo.clear()
        memo[package] = found
        return found


def _walk_host(host: str) -> Iterable[str]:
    """The host itself, then each parent domain with at least two labels (``a.b.umeng.com`` ... ``umeng.com``)."""
    name = host.strip().rstrip(".").lower()
    if not name:
        return
    yield name
    while True:
        dot = name.find(".")
        if dot < 0:
            return
        name = name[dot + 1 :]
        if "." not in name:
            return
        yield name


class KnowledgeBase:
    """Entities, SDKs, data categories and the sensitive-API catalogue, with compiled lookups.

    Built by :func:`appvet.kb.load_kb`. ``sdks`` is ordered by precedence: when two SDKs claim the
    same signature, the one later in the mapping (a hand-curated row over an imported one, an
    overlay over packaged data) wins.
    """

    version: str
    entities: dict[str, Entity]
    sdks: dict[str, Sdk]
    categories: dict[str, DataCategoryInfo]
    apis: tuple[SensitiveApi, ...]
    ban_lists: dict[str, BanList]
    country_lists: dict[str, CountryList]
    jurisdiction_profiles: dict[str, JurisdictionProfile]
    """Keyed by ISO 3166-1 alpha-2 country code."""

    def __init__(
        self,
        *,
        version: str,
        entities: Mapping[str, Entity],
        sdks: Mapping[str, Sdk],
        categories: Mapping[str, DataCategoryInfo],
        apis: Sequence[SensitiveApi],
        origins: Mapping[str, str] | None = None,
        ban_lists: Mapping[str, BanList] | None = None,
        country_lists: Mapping[str, CountryList] | None = None,
        jurisdiction_profiles: Mapping[str, JurisdictionProfile] | None = None,
        libraries: Mapping[str, Library] | None = None,
    ) -> None:
        self.version = version
        self.entities = dict(entities)
        self.sdks = dict(sdks)
        self.categories = dict(categories)
        self.apis = tuple(apis)
        self.ban_lists = dict(ban_lists or {})
        self.country_lists = dict(country_lists or {})
        self.jurisdiction_profiles = dict(jurisdiction_profiles or {})
        self.libraries = dict(libraries or {})
        """Open-source libraries, held by their projects (see :class:`appvet.kb.model.Library`)."""
        self.origins: dict[str, str] = dict(origins or {})
        """``"<kind>:<id>"`` -> ``"<file>#<row>"`` of the row that was kept, for diagnostics."""
        self._compile()

    # -- construction -------------------------------------------------------------------------

    def _compile(self) -> None:
        self._strong = _PrefixMatcher()
        self._weak = _PrefixMatcher()
        self._libs: dict[str, str] = {}
        self._meta: dict[str, str] = {}
        self._components: dict[str, str] = {}
        self._sdk_hosts: dict[str, str] = {}
        self._hosts: dict[str, str] = {}
        for sdk in self.sdks.values():
            for prefix in sdk.class_prefixes:
                self._strong.add(prefix, sdk.id)
            for prefix in sdk.weak_prefixes:
                self._weak.add(prefix, sdk.id)
            for lib in sdk.native_libs:
                self._libs[lib] = sdk.id
            for key in sdk.meta_data:
                self._meta[key] = sdk.id
            for comp in sdk.components:
                self._components[comp] = sdk.id
            for dom in sdk.domains:
                self._sdk_hosts[dom] = sdk.id
                if sdk.owner is not None and sdk.owner in self.entities:
                    self._hosts[dom] = sdk.owner
        self._lib_classes = _PrefixMatcher()
        self._lib_ships = _PrefixMatcher()
        self._lib_native: dict[str, str] = {}
        for lib in self.libraries.values():
            for prefix in lib.class_prefixes:
                self._lib_classes.add(prefix, lib.id)
            for prefix in lib.ships:
                self._lib_ships.add(prefix, lib.id)
            for name in lib.native_libs:
                self._lib_native[name] = lib.id
        # A company's own domain list is a more direct ownership statement than an SDK's endpoint list.
        for ent in self.entities.values():
            for dom in ent.domains:
                self._hosts[dom] = ent.id

        methods: dict[tuple[str, str], list[str]] = {}
        fields: dict[tuple[str, str], list[str]] = {}
        strings: dict[str, list[str]] = {}
        for api in self.apis:
            if api.kind == "string":
                _append_unique(strings.setdefault(api.ref, []), api.category)
                continue
            cls, _, member = api.ref.partition(";->")
            target = methods if api.kind == "method" else fields
            _append_unique(target.setdefault((cls + ";", member), []), api.category)
        self._methods = {k: tuple(v) for k, v in methods.items()}
        self._fields = {k: tuple(v) for k, v in fields.items()}
        self._strings = sorted(((k, tuple(v)) for k, v in strings.items()), key=lambda kv: -len(kv[0]))

        perms: dict[str, list[str]] = {}
        for cat in self.categories.values():
            for perm in cat.permissions:
                _append_unique(perms.setdefault(perm, []), cat.id)
        self._perms = {k: tuple(v) for k, v in perms.items()}

    def __getstate__(self) -> dict[str, Any]:
        state = self.__dict__.copy()
        # Memos describe the last app looked at, not the knowledge base.
        for name in ("_strong", "_weak", "_lib_classes", "_lib_ships"):
            matcher: _PrefixMatcher = state[name]
            state[name] = _PrefixMatcher(matcher.packages, matcher.classes)
        return state

    # -- ownership ----------------------------------------------------------------------------

    @property
    def as_of(self) -> str:
        """Newest as-of date of any source in the data: the date the knowledge base describes."""
        return self.version.split("+", 1)[0]

    def owner_chain(self, entity_id: str | None, on: date | None = None) -> list[Entity]:
        """The entity, its parent, ... up to the ultimate parent, as owned on ``on`` (default: today).

        Dated ownership changes decide each link; entities without any follow ``parent``. Stops at a
        repeated id or a dangling parent. ``None`` (an SDK whose owner is not established) has no chain.
        """
        day = on if on is not None else date.today()
        chain: list[Entity] = []
        seen: set[str] = set()
        current: str | None = entity_id
        while current is not None and current not in seen:
            ent = self.entities.get(current)
            if ent is None:
                break
            chain.append(ent)
            seen.add(current)
            current = ent.parent_on(day)[0] if ent.ownership else ent.parent
        return chain

    def jurisdictions(self, entity_id: str | None, on: date | None = None) -> list[str]:
        """Sorted countries of headquarters and incorporation of every entity on the owner chain."""
        countries: set[str] = set()
        for ent in self.owner_chain(entity_id, on):
            if ent.country_hq:
                countries.add(ent.country_hq)
            if ent.country_inc:
                countries.add(ent.country_inc)
        return sorted(countries)

    def ultimate_parent(self, entity_id: str | None, on: date | None = None) -> Entity | None:
        chain = self.owner_chain(entity_id, on)
        return chain[-1] if chain else None

    # -- SDK signatures -----------------------------------------------------------------------

    def sdk_for_class(self, dotted_class_name: str) -> str | None:
        """SDK whose strong class prefix is the longest match for the class name."""
        return self._strong.lookup(dotted_class_name)

    def weak_sdk_for_class(self, dotted_class_name: str) -> str | None:
        """Same as :meth:`sdk_for_class` for prefixes too generic to count on their own."""
        return self._weak.lookup(dotted_class_name)

    def library_for_class(self, dotted_class_name: str) -> str | None:
        """Open-source library whose class prefix is the longest match for the class name."""
        return self._lib_classes.lookup(dotted_class_name)

    def library_shipping(self, dotted_class_name: str) -> str | None:
        """Library that carries this class inside it under another project's name, if any."""
        return self._lib_ships.lookup(dotted_class_name)

    def library_for_native_lib(self, file_name: str) -> str | None:
        return self._lib_native.get(file_name)

    def sdk_for_native_lib(self, file_name: str) -> str | None:
        base = file_name.rsplit("/", 1)[-1]
        return self._libs.get(base)

    def sdk_for_meta_data(self, key: str) -> str | None:
        return self._meta.get(key)

    def sdk_for_component(self, class_name: str) -> str | None:
        return self._components.get(class_name)

    def sdk_for_host(self, host: str) -> str | None:
        """SDK that lists the host (or a parent domain of it) among its endpoints."""
        for name in _walk_host(host):
            hit = self._sdk_hosts.get(name)
            if hit is not None:
                return hit
        return None

    def entity_for_host(self, host: str) -> str | None:
        """Entity owning the host: the exact host first, then each parent domain."""
        for name in _walk_host(host):
            hit = self._hosts.get(name)
            if hit is not None:
                return hit
        return None

    # -- sensitive APIs -----------------------------------------------------------------------

    def method_categories(self, class_descriptor: str, method_name: str) -> tuple[str, ...]:
        """Data categories for ``Lpkg/Class;`` + method name; ``()`` when not in the catalogue."""
        return self._methods.get((class_descriptor, method_name), ())

    def field_categories(self, class_descriptor: str, field_name: str) -> tuple[str, ...]:
        return self._fields.get((class_descriptor, field_name), ())

    def string_categories(self, s: str) -> tuple[str, ...]:
        """Categories of the longest catalogue prefix the string starts with, at a URI path boundary."""
        for prefix, cats in self._strings:
            if s.startswith(prefix) and (len(s) == len(prefix) or prefix[-1] in "/?#" or s[len(prefix)] in "/?#"):
                return cats
        return ()

    def permission_categories(self, permission: str) -> tuple[str, ...]:
        hit = self._perms.get(permission)
        if hit is None and "." not in permission:
            hit = self._perms.get(_ANDROID_PERMISSION + permission)
        return hit or ()

    # -- views for validation and statistics ---------------------------------------------------

    @property
    def sensitive_members(self) -> Mapping[tuple[str, str], tuple[str, ...]]:
        """Every catalogued method as ``(class descriptor, name) -> categories``."""
        return self._methods

    @property
    def sensitive_fields(self) -> Mapping[tuple[str, str], tuple[str, ...]]:
        return self._fields

    def __repr__(self) -> str:
        return (
            f"KnowledgeBase(version={self.version!r}, entities={len(self.entities)}, sdks={len(self.sdks)}, "
            f"categories={len(self.categories)}, apis={len(self.apis)}, ban_lists={len(self.ban_lists)})"
        )


def _append_unique(items: list[str], value: str) -> None:
    if value not in items:
        items.append(value)

"""Turn a Review into the subjects rules are tested on, each with its fields and its evidence chain.

The chain of a subject reads, as far as the review knows it: permission -> API -> calling code ->
owning SDK -> owner entity -> ultimate parent -> jurisdictions -> endpoint -> observed request.
The engine appends the rule itself as the last link.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

from appvet.kb import KnowledgeBase, lookup
from appvet.kb.bans import IN_FORCE, status_for_app
from appvet.model import (
    CONFIDENCE_ORDER,
    FIRST_PARTY,
    Capability,
    Confidence,
    Endpoint,
    Evidence,
    OwnerLink,
    Review,
)
from appvet.policy.interface import Subject

MANIFEST = "AndroidManifest.xml"
MAX_CHAIN_ENDPOINTS = 5
"""Endpoints quoted per chain: enough to check the claim, few enough to read."""


@dataclass(frozen=True)
class Ban:
    """A ban or restriction list in force on the review date that names the app."""

    id: str
    name: str
    jurisdiction: str
    scope: str
    instrument: str
    matched: str
    """What matched: ``package org.x`` or ``name Foo``."""
    status: str = "in-force"
    """``in-force`` or ``enforcement-delayed`` (the law applies; its enforcement is paused)."""
    devices: str = "all"
    """``all`` or ``government``: whose devices the list covers."""
    status_by: str = ""
    """The instrument of the event that set the status."""
    subdivision: str | None = None


def bans_for_app(kb: KnowledgeBase, package: str | None, label: str | None, on: date) -> list[Ban]:
    """Ban lists in force on ``on`` naming the app by package (or, failing a package, by its exact name)."""
    out = []
    for row in lookup.bans_for_app(kb, package, label, on):
        if not row.get("in_force"):
            continue
        listed = row.get("listed_package") or row.get("listed_name") or ""
        out.append(Ban(id=row["list"], name=row["name"], jurisdiction=row["jurisdiction"], scope=row.get("scope", ""),
                       instrument=row["instrument"], matched=f"{row['matched_by']} {listed}",
                       status=row["status"], devices=row.get("devices", "all"), status_by=row.get("status_by") or "",
                       subdivision=row.get("subdivision")))
    return sorted(out, key=lambda b: b.id)


def controller_bans(kb: Any, chain: Sequence[OwnerLink], on: date) -> tuple[str, ...]:
    """Ban lists in force that cover, as a class, apps of an entity on this owner chain."""
    return tuple(b.id for b in _controller_lists(kb, chain, on))


def controller_ban_jurisdictions(kb: Any, chain: Sequence[OwnerLink], on: date) -> tuple[str, ...]:
    """Issuing countries of those lists that apply to every device (not only a government's own)."""
    return tuple(sorted({b.jurisdiction for b in _controller_lists(kb, chain, on) if b.devices != "government"}))


def developer_bans(kb: Any, app: Any, on: date) -> list[Any]:
    """Lists in force that cover the app's developer (its signer's entity) as a class, for this app.

    The status is taken for the app itself, so a list that ended for it (a divested app still signed
    with its former owner's key) does not count.
    """
    chain = getattr(app, "developer", ()) or ()
    entities = {link.entity for link in chain}
    lists = getattr(kb, "ban_lists", None) or {}
    return sorted(
        (b for b in lists.values()
         if entities.intersection(getattr(b, "controllers", ()))
         and status_for_app(b, on, app.package, app.label).status in IN_FORCE),
        key=lambda b: b.id,
    )


def _controller_lists(kb: Any, chain: Sequence[OwnerLink], on: date) -> list[Any]:
    entities = {link.entity for link in chain}
    lists = getattr(kb, "ban_lists", None) or {}
    return sorted(
        (b for b in lists.values()
         if entities.intersection(getattr(b, "controllers", ())) and b.status_on(on) in IN_FORCE),
        key=lambda b: b.id,
    )


# --------------------------------------------------------------------------- evidence links


def _kb(locator: str, excerpt: str, file: str) -> Evidence:
    return Evidence("kb", file, locator, excerpt)


def owner_links(chain: Sequence[OwnerLink], jurisdictions: Sequence[str]) -> list[Evidence]:
    """owner entity -> ultimate parent -> jurisdictions of control."""
    out: list[Evidence] = []
    if chain:
        first = chain[0]
        out.append(_kb(first.entity, f"owner: {first.name} ({first.country or 'country unknown'})", "kb:entities"))
        top = chain[-1]
        if top.entity != first.entity:
            out.append(_kb(top.entity, f"ultimate parent: {top.name} ({top.country or 'country unknown'})",
                           "kb:entities"))
    if jurisdictions:
        out.append(_kb(",".join(jurisdictions), f"jurisdictions of control: {', '.join(jurisdictions)}",
                       "kb:jurisdictions"))
    return out


def endpoint_links(endpoints: Iterable[Endpoint]) -> list[Evidence]:
    out = []
    for ep in sorted(endpoints, key=lambda e: e.host)[:MAX_CHAIN_ENDPOINTS]:
        where = ep.evidence[0] if ep.evidence else None
        out.append(Evidence(
            "endpoint", where.file if where else "", where.locator if where else ep.host,
            f"{ep.value} (owner {ep.owner or 'unknown'}, {ep.owner_country or 'country unknown'})",
        ))
    return out


def flow_links(flows: Sequence[Any], hosts: set[str]) -> list[Evidence]:
    out = []
    for index, flow in enumerate(flows):
        host = _flow_host(flow)
        if host in hosts:
            cats = ", ".join(_flow_categories(flow)) or "no recognised personal data"
            out.append(Evidence("flow", str(getattr(flow, "source", "") or "capture"), f"request {index}",
                                f"{host}: {cats}"))
    return out[:MAX_CHAIN_ENDPOINTS]


def _flow_host(flow: Any) -> str | None:
    for name in ("host", "destination"):
        value = getattr(flow, name, None)
        if isinstance(value, str):
            return value.lower()
    return None


def _flow_categories(flow: Any) -> tuple[str, ...]:
    cats = getattr(flow, "categories", None)
    if cats is None:
        cats = [getattr(m, "category", None) for m in getattr(flow, "matches", ()) or ()]
    return tuple(sorted({str(c) for c in cats if c}))


# --------------------------------------------------------------------------- subjects


@dataclass(frozen=True)
class _Owner:
    owner: str | None
    owner_country: str | None
    parent: str | None
    parent_country: str | None


def _owner(chain: Sequence[OwnerLink]) -> _Owner:
    if not chain:
        return _Owner(None, None, None, None)
    return _Owner(chain[0].entity, chain[0].country, chain[-1].entity, chain[-1].country)


def _max_confidence(levels: Iterable[str]) -> Confidence:
    best: Confidence = "present"
    for level in levels:
        if CONFIDENCE_ORDER.get(level, 0) > CONFIDENCE_ORDER[best]:
            best = level  # type: ignore[assignment]
    return best


class SubjectBuilder:
    """Builds the subjects of one review once; rules then only filter them."""

    def __init__(self, review: Review, kb: Any, on: date) -> None:
        self.review = review
        self.kb = kb
        self.on = on
        self.sdks = {s.id: s for s in review.sdks}
        self.flows: tuple[Any, ...] = tuple(getattr(review, "flows", ()) or ())
        self.observed_hosts = {h for h in (_flow_host(f) for f in self.flows) if h}
        self.endpoints_by_holder: dict[str, list[Endpoint]] = {}
        for ep in review.endpoints:
            if ep.holder:
                self.endpoints_by_holder.setdefault(ep.holder, []).append(ep)
        self.caps_by_holder: dict[str, list[Capability]] = {}
        for cap in review.capabilities:
            self.caps_by_holder.setdefault(cap.holder, []).append(cap)
        self._cache: dict[str, tuple[Subject, ...]] = {}

    def subjects(self, kind: str) -> tuple[Subject, ...]:
        if kind not in self._cache:
            make = {"capability": self._capabilities, "sdk": self._sdks, "endpoint": self._endpoints,
                    "app": self._app}[kind]
            self._cache[kind] = tuple(make())
        return self._cache[kind]

    def _holder_endpoints(self, holder: str) -> list[Endpoint]:
        return self.endpoints_by_holder.get(holder, [])

    def _capabilities(self) -> Iterable[Subject]:
        for cap in self.review.capabilities:
            sdk = self.sdks.get(cap.holder)
            chain = sdk.owner_chain if sdk else ()
            juris = sdk.jurisdictions if sdk else ()
            own = _owner(chain)
            eps = self._holder_endpoints(cap.holder) if cap.holder != "manifest" else []
            quoted = {e.excerpt for e in cap.evidence if e.kind == "permission"}
            links: list[Evidence] = [
                Evidence("permission", MANIFEST, f'uses-permission[@android:name="{p}"]', p)
                for p in cap.permissions if p not in quoted
            ]
            links.extend(cap.evidence)
            if sdk is not None:
                links.append(_kb(sdk.id, f"SDK: {sdk.name} ({', '.join(sdk.matched_by)})", "kb:sdks"))
            links.extend(owner_links(chain, juris))
            links.extend(endpoint_links(eps))
            links.extend(flow_links(self.flows, {e.host.lower() for e in eps}))
            name = sdk.name if sdk else ("first-party code" if cap.holder == FIRST_PARTY else cap.holder)
            yield Subject(
                kind="capability",
                key=(cap.holder, cap.category),
                fields={
                    "category": cap.category, "confidence": cap.confidence, "holder": cap.holder,
                    "holder_package": cap.holder_package, "first_party": cap.holder == FIRST_PARTY,
                    "permissions": cap.permissions, "apis": cap.apis,
                    "sdk_name": sdk.name if sdk else None, "sdk_categories": sdk.categories if sdk else (),
                    "owner": own.owner, "owner_country": own.owner_country, "parent": own.parent,
                    "parent_country": own.parent_country, "jurisdictions": tuple(juris),
                    "endpoint_hosts": tuple(sorted({e.host for e in eps})),
                    "endpoint_countries": tuple(sorted({e.owner_country for e in eps if e.owner_country})),
                },
                chain=tuple(links),
                confidence=cap.confidence,
                summary=f"{name} ({cap.holder_package}) can obtain {cap.category} [{cap.confidence}]",
                category=cap.category,
                sdk=sdk.id if sdk else None,
                entity=own.parent,
            )

    def _sdks(self) -> Iterable[Subject]:
        for sdk in self.review.sdks:
            own = _owner(sdk.owner_chain)
            caps = self.caps_by_holder.get(sdk.id, [])
            eps = self._holder_endpoints(sdk.id)
            links: list[Evidence] = list(sdk.evidence[:3])
            links.append(_kb(sdk.id, f"SDK: {sdk.name} ({', '.join(sdk.matched_by)})", "kb:sdks"))
            links.extend(owner_links(sdk.owner_chain, sdk.jurisdictions))
            links.extend(endpoint_links(eps))
            links.extend(flow_links(self.flows, {e.host.lower() for e in eps}))
            yield Subject(
                kind="sdk",
                key=(sdk.id,),
                fields={
                    "sdk": sdk.id, "sdk_name": sdk.name, "sdk_categories": sdk.categories,
                    "matched_by": sdk.matched_by, "owner": own.owner, "owner_country": own.owner_country,
                    "parent": own.parent, "parent_country": own.parent_country,
                    "jurisdictions": sdk.jurisdictions,
                    "data_categories": tuple(sorted({c.category for c in caps})),
                    "confidence": _max_confidence(c.confidence for c in caps),
                    "endpoint_hosts": tuple(sorted({e.host for e in eps})),
                    "endpoint_countries": tuple(sorted({e.owner_country for e in eps if e.owner_country})),
                    "banned_controller_lists": controller_bans(self.kb, sdk.owner_chain, self.on),
                    "banned_controller_jurisdictions": controller_ban_jurisdictions(self.kb, sdk.owner_chain, self.on),
                },
                chain=tuple(links),
                confidence=_max_confidence(c.confidence for c in caps),
                summary=f"SDK {sdk.name} ({own.parent or own.owner or 'owner unknown'})",
                sdk=sdk.id,
                entity=own.parent,
            )

    def _endpoint_owner(self, ep: Endpoint) -> tuple[tuple[OwnerLink, ...], tuple[str, ...]]:
        if not ep.owner:
            return (), ()
        chain_fn = getattr(self.kb, "owner_chain", None)
        ents = list(chain_fn(ep.owner)) if callable(chain_fn) else []
        links = tuple(OwnerLink(e.id, e.name, e.country_hq) for e in ents)
        countries = sorted({c for e in ents for c in (e.country_hq, e.country_inc) if c})
        if not links:
            links = (OwnerLink(ep.owner, ep.owner, ep.owner_country),)
            countries = [ep.owner_country] if ep.owner_country else []
        return links, tuple(countries)

    def _endpoints(self) -> Iterable[Subject]:
        for ep in self.review.endpoints:
            chain, juris = self._endpoint_owner(ep)
            own = _owner(chain)
            holder = self.sdks.get(ep.holder or "")
            caps = self.caps_by_holder.get(ep.holder or "", []) if ep.holder else []
            observed = ep.host.lower() in self.observed_hosts
            links: list[Evidence] = []
            if holder is not None:
                links.append(_kb(holder.id, f"SDK holding the endpoint: {holder.name}", "kb:sdks"))
            links.extend(endpoint_links([ep]))
            links.extend(owner_links(chain, juris))
            links.extend(flow_links(self.flows, {ep.host.lower()}))
            confidence: Confidence = "observed" if observed else "present"
            yield Subject(
                kind="endpoint",
                key=(ep.host.lower(), ep.value),  # one subject per URL, not per host
                fields={
                    "host": ep.host.lower(), "domain": ep.domain, "kind": ep.kind, "owner": own.owner,
                    "owner_country": own.owner_country, "parent": own.parent, "parent_country": own.parent_country,
                    "jurisdictions": juris, "holder": ep.holder,
                    "holder_jurisdictions": holder.jurisdictions if holder else (),
                    "data_categories": tuple(sorted({c.category for c in caps})),
                    "confidence": confidence, "observed": observed,
                },
                chain=tuple(links),
                confidence=confidence,
                summary=f"endpoint {ep.host} (owner {ep.owner or 'unknown'}, {ep.owner_country or 'country unknown'})",
                sdk=holder.id if holder else None,
                entity=own.parent,
            )

    def _app(self) -> Iterable[Subject]:
        app = self.review.app
        bans = bans_for_app(self.kb, app.package, app.label, self.on)
        links: list[Evidence] = [Evidence("manifest", MANIFEST, "manifest/@package", app.package or "")]
        links.extend(
            Evidence("kb", "kb:ban-lists", b.id, f"{b.name} ({b.instrument}; {b.jurisdiction}, {b.scope}, "
                     f"{b.devices} devices): matched {b.matched}, {b.status} on {self.on.isoformat()}"
                     + (f" ({b.status_by})" if b.status_by else ""))
            for b in bans
        )
        general = [b for b in bans if b.devices != "government"]
        official = [b for b in bans if b.devices == "government"]
        by_developer = developer_bans(self.kb, app, self.on)
        links.extend(
            Evidence("kb", "kb:ban-lists", b.id, f"{b.name} ({b.instrument}; {b.jurisdiction}, {b.devices} devices): "
                     f"covers every app of {', '.join(c for c in b.controllers)}, the signer's group; in force on "
                     f"{self.on.isoformat()}")
            for b in by_developer
        )
        juris = sorted({j for s in self.review.sdks for j in s.jurisdictions})
        yield Subject(
            kind="app",
            key=(app.package or app.sha256,),
            fields={
                "package": app.package, "label": app.label,
                "signer_countries": tuple(sorted({c.country for c in app.signers if c.country})),
                "sdks": tuple(sorted(self.sdks)), "sdk_jurisdictions": tuple(juris),
                "bans": tuple(b.id for b in bans),
                "ban_jurisdictions": tuple(sorted({b.jurisdiction for b in general})),
                "ban_scopes": tuple(sorted({b.scope for b in bans})),
                "ban_statuses": tuple(sorted({b.status for b in bans})),
                "developer_ban_lists": tuple(b.id for b in by_developer),
                "developer_ban_jurisdictions": tuple(sorted(
                    {b.jurisdiction for b in by_developer if b.devices != "government"}
                )),
                "government_device_bans": tuple(b.id for b in official),
                "government_device_ban_jurisdictions": tuple(sorted(
                    {b.jurisdiction for b in official} | {b.subdivision for b in official if b.subdivision}
                )),
            },
            chain=tuple(links),
            confidence="present",
            summary=f"app {app.package or app.file_name}",
        )


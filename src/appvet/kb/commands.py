"""What ``appvet kb show|search|import`` answer, as plain data (the CLI only prints it).

Every function takes a loaded :class:`~appvet.kb.KnowledgeBase` (or file paths for the import)
and returns dicts and lists of JSON-compatible values, so the same answers serve text and JSON
output and tests.
"""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path
from typing import Any

from appvet.errors import FormatError, UsageError
from appvet.kb import bans, loader
from appvet.kb import importers as imp
from appvet.kb.bans import BanStatus
from appvet.kb.knowledge import KnowledgeBase
from appvet.kb.lookup import bans_for_controller
from appvet.kb.model import BanEvent, BanList, CountryList, Entity, JurisdictionProfile, LawFact, OwnershipChange, Sdk
from appvet.model import Source

MAX_IMPORT_BYTES = 32 * 1024 * 1024
SEARCH_LIMIT = 200
IMPORT_FORMATS = ("exodus",)


def _sources(sources: tuple[Source, ...]) -> list[dict[str, str]]:
    return [{"url": s.url, "as_of": s.as_of} for s in sources]


def _link_on(ent: Entity, on: date) -> tuple[str | None, tuple[Source, ...], str]:
    """(date the link to the parent held on ``on`` began, the sources of that link, its note).

    A dated ownership change is its own evidence; an undated parent is stated by the entity row's sources.
    """
    current = ent.change_on(on)
    if current is not None:
        return current.date, current.sources, current.note
    if ent.ownership:
        return None, (), f"no parent recorded before {ent.ownership[0].date}"
    return None, ent.sources if ent.parent else (), ""


def _entity_brief(ent: Entity, on: date) -> dict[str, Any]:
    parent, share = ent.parent_on(on)
    since, sources, note = _link_on(ent, on)
    return {
        "id": ent.id,
        "name": ent.name,
        "country_hq": ent.country_hq,
        "country_inc": ent.country_inc,
        "parent": parent,
        "parent_share": share,
        "parent_since": since,
        "parent_sources": _sources(sources),
        "parent_note": note,
    }


def _change(c: OwnershipChange) -> dict[str, Any]:
    return {
        "date": c.date,
        "parent": c.parent,
        "parent_share": c.parent_share,
        "note": c.note,
        "sources": _sources(c.sources),
    }


def _law(law: LawFact) -> dict[str, Any]:
    return {
        "id": law.id,
        "title": law.title,
        "adopted": law.adopted,
        "effective": law.effective,
        "provisions": list(law.provisions),
        "summary": law.summary,
        "sources": _sources(law.sources),
    }


def _lists_containing(kb: KnowledgeBase, countries: list[str]) -> list[dict[str, Any]]:
    found = []
    for clist in kb.country_lists.values():
        hits = [c for c in countries if c in clist.countries]
        if hits:
            found.append({"list": clist.id, "name": clist.name, "countries": hits})
    return found


def _show_entity(kb: KnowledgeBase, ent: Entity, on: date) -> dict[str, Any]:
    chain = kb.owner_chain(ent.id, on)
    countries = kb.jurisdictions(ent.id, on)
    return {
        "kind": "entity",
        "id": ent.id,
        "name": ent.name,
        "aliases": list(ent.aliases),
        "country_hq": ent.country_hq,
        "country_inc": ent.country_inc,
        "on": on.isoformat(),
        "kb_as_of": kb.as_of,
        "owner_chain": [_entity_brief(e, on) for e in chain],
        "ultimate_parent": chain[-1].id if chain else None,
        "jurisdictions": countries,
        "country_lists": _lists_containing(kb, countries),
        "ownership_changes": [_change(c) for c in ent.ownership],
        "domains": list(ent.domains),
        "sdks": sorted(s.id for s in kb.sdks.values() if s.owner == ent.id),
        "ban_lists": bans_for_controller(kb, ent.id, on),
        "sources": _sources(ent.sources),
        "origin": kb.origins.get(f"entities:{ent.id}"),
    }


def _show_sdk(kb: KnowledgeBase, sdk: Sdk, on: date) -> dict[str, Any]:
    chain = kb.owner_chain(sdk.owner, on)
    countries = kb.jurisdictions(sdk.owner, on)
    return {
        "kind": "sdk",
        "id": sdk.id,
        "name": sdk.name,
        "owner": sdk.owner,
        "owner_unknown": sdk.owner_unknown or None,
        "categories": list(sdk.categories),
        "on": on.isoformat(),
        "kb_as_of": kb.as_of,
        "owner_chain": [_entity_brief(e, on) for e in chain],
        "jurisdictions": countries,
        "country_lists": _lists_containing(kb, countries),
        "signatures": {
            "class_prefixes": list(sdk.class_prefixes),
            "weak_prefixes": list(sdk.weak_prefixes),
            "native_libs": list(sdk.native_libs),
            "meta_data": list(sdk.meta_data),
            "components": list(sdk.components),
            "domains": list(sdk.domains),
        },
        "exodus_id": sdk.exodus_id,
        "sources": _sources(sdk.sources),
        "origin": kb.origins.get(f"sdks:{sdk.id}"),
    }


def _event(e: BanEvent) -> dict[str, Any]:
    return {
        "date": e.date,
        "precision": e.precision,
        "kind": e.kind,
        "title": e.title,
        "summary": e.summary,
        "until": e.until,
        "apps": list(e.apps),
        "note": e.note,
        "sources": [
            {"url": s.url, "as_of": s.as_of, "primary": s.primary, "title": s.title, "read": s.read} for s in e.sources
        ],
    }


def _state(state: BanStatus) -> dict[str, Any]:
    decided = state.event
    return {
        "status": state.status,
        "in_force": state.in_force,
        "since": state.since,
        "by": decided.title if decided else None,
        "by_kind": decided.kind if decided else None,
        "until": state.until,
    }


def _show_ban_list(ban: BanList, on: date) -> dict[str, Any]:
    whole = bans.status_on(ban, on)
    per_app = []
    for app in ban.apps:
        state = bans.status_for_app(ban, on, app.package, app.name)
        if state != whole:
            per_app.append({"name": app.name, "package": app.package, **_state(state)})
    return {
        "kind": "ban-list",
        "id": ban.id,
        "name": ban.name,
        "jurisdiction": ban.jurisdiction,
        "subdivision": ban.subdivision,
        "institution": ban.institution,
        "group": ban.group,
        "authority": ban.authority,
        "instrument": ban.instrument,
        "scope": ban.scope,
        "devices": ban.devices,
        "on": on.isoformat(),
        **_state(whole),
        "status_per_app": per_app,
        "date": ban.date,
        "effective": ban.effective,
        "revoked": ban.revoked,
        "revoked_by": ban.revoked_by,
        "events": [_event(e) for e in ban.events],
        "count_declared": ban.count_declared,
        "complete": ban.complete,
        "controllers": list(ban.controllers),
        "developers": list(ban.developers),
        "apps": [
            {"name": a.name, "package": a.package, "note": a.note, "sources": _sources(a.sources)} for a in ban.apps
        ],
        "note": ban.note,
        "sources": _sources(ban.sources),
    }


def _show_country_list(clist: CountryList) -> dict[str, Any]:
    return {
        "kind": "country-list",
        "id": clist.id,
        "name": clist.name,
        "instrument": clist.instrument,
        "as_of": clist.as_of,
        "countries": list(clist.countries),
        "qualifiers": dict(clist.qualifiers),
        "note": clist.note,
        "sources": _sources(clist.sources),
    }


def _show_country(kb: KnowledgeBase, code: str, profile: JurisdictionProfile | None, on: date) -> dict[str, Any]:
    return {
        "kind": "country",
        "id": code,
        "name": profile.name if profile else None,
        "laws": [_law(law) for law in (profile.laws if profile else ())],
        "country_lists": _lists_containing(kb, [code]),
        "ban_lists_issued": sorted(b.id for b in kb.ban_lists.values() if b.jurisdiction == code),
        "entities_headquartered": sum(1 for e in kb.entities.values() if e.country_hq == code),
        "sdks_controlled": sum(1 for s in kb.sdks.values() if code in kb.jurisdictions(s.owner, on)),
        "note": profile.note if profile else "",
        "sources": _sources(profile.sources) if profile else [],
    }


def show(kb: KnowledgeBase, ident: str, on: date | None = None) -> dict[str, Any]:
    """One row by id: an entity, SDK, ban list, country list, or a country (ISO alpha-2, any case).

    Ids are unique within a kind but not across kinds; the first kind in that order wins. Raises
    :class:`~appvet.errors.UsageError` for an unknown id.
    """
    day = on if on is not None else date.today()
    if ident in kb.entities:
        return _show_entity(kb, kb.entities[ident], day)
    if ident in kb.sdks:
        return _show_sdk(kb, kb.sdks[ident], day)
    if ident in kb.ban_lists:
        return _show_ban_list(kb.ban_lists[ident], day)
    if ident in kb.country_lists:
        return _show_country_list(kb.country_lists[ident])
    code = ident.upper()
    known_codes = set(kb.jurisdiction_profiles) | {c for cl in kb.country_lists.values() for c in cl.countries}
    known_codes |= {e.country_hq for e in kb.entities.values() if e.country_hq}
    if len(code) == 2 and code in known_codes:
        return _show_country(kb, code, kb.jurisdiction_profiles.get(code), day)
    raise UsageError(f"no entity, SDK, ban list, country list or country with id {ident!r}")


def _hit(kind: str, ident: str, name: str, field: str, value: str) -> dict[str, str]:
    return {"kind": kind, "id": ident, "name": name, "field": field, "value": value}


def search(kb: KnowledgeBase, text: str, limit: int = SEARCH_LIMIT) -> list[dict[str, str]]:
    """Rows whose id, name, alias, signature, domain, or listed app contains ``text`` (case-insensitive).

    One hit per (row, field, value); exact matches first, then in knowledge-base order; at most ``limit``.
    """
    needle = " ".join(text.casefold().split())
    if not needle:
        return []
    hits: list[dict[str, str]] = []

    def check(kind: str, ident: str, name: str, field: str, values: Any) -> None:
        for value in values:
            if value and needle in str(value).casefold():
                hits.append(_hit(kind, ident, name, field, str(value)))

    for ent in kb.entities.values():
        check("entity", ent.id, ent.name, "id", [ent.id])
        check("entity", ent.id, ent.name, "name", [ent.name, *ent.aliases])
        check("entity", ent.id, ent.name, "domain", ent.domains)
    for sdk in kb.sdks.values():
        check("sdk", sdk.id, sdk.name, "id", [sdk.id])
        check("sdk", sdk.id, sdk.name, "name", [sdk.name])
        check("sdk", sdk.id, sdk.name, "class_prefix", (*sdk.class_prefixes, *sdk.weak_prefixes))
        check("sdk", sdk.id, sdk.name, "native_lib", sdk.native_libs)
        check("sdk", sdk.id, sdk.name, "meta_data", sdk.meta_data)
        check("sdk", sdk.id, sdk.name, "component", sdk.components)
        check("sdk", sdk.id, sdk.name, "domain", sdk.domains)
    for ban in kb.ban_lists.values():
        check("ban-list", ban.id, ban.name, "id", [ban.id])
        check("ban-list", ban.id, ban.name, "name", [ban.name, ban.instrument])
        check("ban-list", ban.id, ban.name, "app", [a.name for a in ban.apps])
        check("ban-list", ban.id, ban.name, "package", [a.package for a in ban.apps])
        check("ban-list", ban.id, ban.name, "developer", ban.developers)
    for clist in kb.country_lists.values():
        check("country-list", clist.id, clist.name, "id", [clist.id])
        check("country-list", clist.id, clist.name, "name", [clist.name])
    for profile in kb.jurisdiction_profiles.values():
        check("country", profile.country, profile.name, "name", [profile.country, profile.name])
        check("country", profile.country, profile.name, "law", [law.title for law in profile.laws])
    hits.sort(key=lambda h: h["value"].casefold() != needle)  # stable: exact matches first
    return hits[:limit]


# -- import -------------------------------------------------------------------------------------


def _read_json(path: Path) -> Any:
    try:
        size = path.stat().st_size
        if size > MAX_IMPORT_BYTES:
            raise FormatError(f"larger than {MAX_IMPORT_BYTES} bytes", file=str(path))
        data = path.read_bytes()
    except OSError as exc:
        raise FormatError(f"cannot read: {exc.strerror}", file=str(path)) from exc
    try:
        return json.loads(data)
    except (ValueError, UnicodeDecodeError, RecursionError) as exc:
        raise FormatError(f"not valid JSON: {exc}", file=str(path)) from exc


def _exodus_trackers(doc: Any, file: str) -> dict[str, dict[str, Any]]:
    """The ``trackers`` mapping of an Exodus API / TrackerControl dump, each row checked for the fields used."""
    trackers = doc.get("trackers") if isinstance(doc, dict) else None
    if not isinstance(trackers, dict):
        raise FormatError('expected an object with a "trackers" object (Exodus tracker list)', file=file)
    checked: dict[str, dict[str, Any]] = {}
    for key, row in trackers.items():
        if not isinstance(row, dict) or not isinstance(row.get("id"), int) or row["id"] < 1:
            raise FormatError(f"tracker {key!r}: expected an object with a positive integer id", file=file)
        for fld in ("name", "code_signature", "network_signature"):
            if row.get(fld) is not None and not isinstance(row[fld], str):
                raise FormatError(f"tracker {key!r}: {fld} must be a string", file=file)
        cats = row.get("categories")
        if cats is not None and not (isinstance(cats, list) and all(isinstance(c, str) for c in cats)):
            raise FormatError(f"tracker {key!r}: categories must be a list of strings", file=file)
        checked[str(key)] = row
    return checked


def _packaged_rows(kind: str, curated_only: bool) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    for kb_file in loader.kb_files(loader.DATA_DIR):
        if curated_only and kb_file.label.startswith("imported/"):
            continue
        file_kind, file_rows = loader.parse_file(kb_file)
        if file_kind == kind:
            rows.extend(r for r in file_rows if isinstance(r, dict))
    return rows


def import_file(fmt: str, path: Path, out_dir: Path) -> dict[str, Any]:
    """Convert a third-party list into knowledge-base files of an overlay directory; returns counts.

    ``exodus``: an Exodus tracker list (the Exodus API's ``{"trackers": {...}}``). Each tracker
    becomes an SDK owned per appvet's hand-reviewed ``exodus-owners.json``; trackers without a
    known owner, or that a hand-curated SDK already covers, are skipped and counted, because a
    row without an owner cannot say who controls the code. The rows are written to
    ``out_dir/imported/30-exodus-sdks.json`` with the same ids as the packaged import, so loading
    the directory as an overlay replaces the packaged rows with the newer list's.
    """
    if fmt not in IMPORT_FORMATS:
        raise UsageError(f"unknown import format {fmt!r} (expected one of {', '.join(IMPORT_FORMATS)})")
    trackers = _exodus_trackers(_read_json(path), str(path))
    curated = imp.Curated.build(_packaged_rows("entities", True), _packaged_rows("sdks", True))
    entities = _packaged_rows("entities", False)
    owners: dict[int, str | None] = {}
    unknown: dict[int, str] = {}
    for row in _packaged_rows("exodus-owners", True):
        owners[int(row["exodus_id"])] = row.get("owner")
        if row.get("owner") is None and row.get("note"):
            unknown[int(row["exodus_id"])] = row["note"]
    host_owner: dict[str, str] = {}
    for ent in entities:
        for dom in ent.get("domains", ()):
            host_owner.setdefault(dom, ent["id"])
    parents = {e["id"]: e.get("parent") for e in entities}
    rows, report = imp.import_exodus(trackers, owners, curated, host_owner, parents, unknown)
    out = out_dir / "imported" / "30-exodus-sdks.json"
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
        doc = {
            "kind": "sdks",
            "description": f"Derived from the Exodus Privacy tracker list {path.name} (ODbL 1.0); owners from "
            "appvet's exodus-owners.json.",
            "rows": rows,
        }
        out.write_text(json.dumps(doc, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
    except OSError as exc:
        raise UsageError(f"cannot write {out}: {exc.strerror}") from exc
    return {
        "format": fmt,
        "input": str(path),
        "trackers": len(trackers),
        "sdks": len(rows),
        "class_prefixes": sum(len(r.get("class_prefixes", ())) for r in rows),
        "weak_prefixes": sum(len(r.get("weak_prefixes", ())) for r in rows),
        "domains": sum(len(r.get("domains", ())) for r in rows),
        "report": dict(sorted(report.counts.items())),
        "written": [str(out)],
    }

"""The one library call everything else wraps: ``review(path) -> Review``."""

from __future__ import annotations

import os
import resource
import sys
import time
from collections.abc import Callable, Sequence
from datetime import date
from pathlib import Path
from typing import TypeVar

from appvet import __version__, budget
from appvet.analyze import (
    behaviours,
    capabilities,
    endpoints,
    findings,
    fingerprints,
    flows,
    native,
    obfuscation,
    reachability,
    sdks,
)
from appvet.analyze.facts import gather
from appvet.analyze.interface import AppFacts
from appvet.bounds import cap_review
from appvet.errors import InputError
from appvet.ingest.interface import Budget, Options
from appvet.ingest.open import open_input
from appvet.ingest.zipread import Limits
from appvet.ios.bundle import looks_like_ios
from appvet.kb import KnowledgeBase, load_kb
from appvet.kb.lookup import bans_for_app, match_signer
from appvet.model import SCHEMA_VERSION, App, BanHit, OwnerLink, Review

Progress = Callable[[str], None]
P = TypeVar("P")
F = TypeVar("F")


def review(
    path: str | os.PathLike[str],
    *,
    kb: KnowledgeBase | None = None,
    options: Options | None = None,
    progress: Progress | None = None,
    on: date | None = None,
    traffic: Sequence[str | os.PathLike[str]] = (),
    device: str | os.PathLike[str] | None = None,
    geoip: Sequence[str | os.PathLike[str]] = (),
    show_values: bool = False,
) -> Review:
    """Review one APK, split-APK bundle, IPA or .app directory. Raises an ``InputError`` for input that
    cannot be reviewed.

    ``on`` is the date at which ownership chains and ban lists are evaluated (default: today);
    pass a fixed date for reproducible reports. ``traffic`` captures (HAR, mitmproxy, pcap/pcapng),
    read with the ``device`` profile, are joined with the static result: what they show leaving
    the device is raised to ``observed``.
    """
    options = options or Options()
    on = on or date.today()
    say = progress or (lambda _msg: None)
    laps = Laps()
    lap = laps.lap
    timings = laps.timings

    if kb is None:
        say("knowledge base")
        kb = load_kb()
        lap("kb")
    if looks_like_ios(path):
        from appvet.review_ios import review_ios

        return review_ios(path, kb=kb, options=options, progress=progress, on=on, traffic=traffic, device=device,
                          geoip=geoip, show_values=show_values, timings=timings)
    package, facts = open_and_gather(path, open_input, gather, options, say, lap)

    say("sdks")
    sdk_hits, attribution = sdks.detect(facts, kb, on)
    lap("sdks")
    sdk_hits, attribution, renamed_sdks = fingerprints.attribute(facts, kb, sdk_hits, attribution, on)
    lap("fingerprints")
    say("capabilities")
    caps = capabilities.find(facts, kb, attribution, Budget.start("capabilities", options.stage_seconds))
    lap("capabilities")
    say("reachability")
    reach, reach_skips = reachability.compute(facts, Budget.start("reachability", options.stage_seconds))
    facts.skips.extend(reach_skips)
    if reach is not None:
        caps = reachability.upgrade_capabilities(facts, kb, attribution, reach, caps)
        sdk_hits = reachability.sdk_initialisation(attribution, reach, sdk_hits)
    declared = [p.name for p in facts.manifest.summary.permissions] if facts.manifest else []
    caps = capabilities.gate_by_permissions(kb, caps, declared)
    lap("reachability")
    native_methods = native.bind(facts, reach)
    found_behaviours = behaviours.merge(behaviours.find(facts, attribution, reach),
                                        native.behaviours(facts, kb, attribution, native_methods))
    lap("behaviours")
    code_flows, flow_skips = flows.find(facts, kb, attribution, reach,
                                        Budget.start("flows", options.stage_seconds))
    facts.skips.extend(flow_skips)
    lap("flows")
    protections = obfuscation.find(facts, kb, sdk_hits) + fingerprints.protections(kb, renamed_sdks)
    lap("obfuscation")
    say("endpoints")
    # Endpoints are not essential: past the stage budget the review goes on without them, with a Skip.
    eps = budget.cut_stage("endpoints", lambda: endpoints.find(
        facts, kb, attribution, Budget.start("endpoints", options.stage_seconds)), [], facts.skips)
    lap("endpoints")
    found = findings.derive(facts, caps, sdk_hits, found_behaviours, code_flows, protections,
                            libraries=attribution.library_hits)
    lap("findings")

    m = facts.manifest
    app = App(
        file_name=Path(path).name,
        sha256=package.sha256,
        size=package.size,
        package=m.package if m else None,
        version_code=m.version_code if m else None,
        version_name=m.version_name if m else None,
        min_sdk=m.min_sdk if m else None,
        target_sdk=m.target_sdk if m else None,
        label=m.label if m else None,
        splits=tuple(p.name for p in package.parts) if package.kind != "apk" else (),
        dex_files=tuple(u.path for u in facts.dex),
        native_libs=tuple(sorted(n.path for n in facts.native)),
        entries=sum(len(p.archive.entries) for p in package.parts),
        signers=tuple(facts.certificates),
        developer=_developer(kb, facts, on),
        verified_schemes=facts.verified_schemes,
    )
    result = Review(
        schema_version=SCHEMA_VERSION,
        app=app,
        manifest=m.summary if m else None,
        sdks=tuple(sdk_hits),
        capabilities=tuple(caps),
        endpoints=tuple(eps),
        findings=tuple(found),
        skips=tuple(sorted(facts.skips, key=lambda s: (s.stage, s.locator))),
        verdict=None,
        versions={"appvet": __version__, "kb": kb.version, "schema": SCHEMA_VERSION},
        behaviours=tuple(found_behaviours),
        code_flows=tuple(code_flows),
        native_methods=tuple(native_methods),
        bans=_bans(kb, m.package if m else None, m.label if m else None, on),
        review_date=on.isoformat(),
        timings=timings,
        libraries=tuple(attribution.library_hits),
    )
    timings["peak_memory_mib"] = peak_memory_mib()
    if traffic:
        say("traffic")
        result = _with_traffic(result, kb, traffic, device, geoip, show_values)
        lap("traffic")
    return cap_review(result)


class Laps:
    """Seconds each stage of one review took: ``lap(stage)`` records the time since the previous lap."""

    def __init__(self, timings: dict[str, float] | None = None) -> None:
        self.timings = dict(timings or {})
        self._t0 = time.perf_counter()

    def lap(self, stage: str) -> None:
        now = time.perf_counter()
        self.timings[stage] = round(now - self._t0, 4)
        self._t0 = now


def open_and_gather(path: str | os.PathLike[str], open_: Callable[[str | os.PathLike[str], Limits], P],
                    gather_: Callable[[P, Options, Progress], F], options: Options, say: Progress,
                    lap: Progress) -> tuple[P, F]:
    """Open the input (stage ``ingest``) and read its formats (stage ``formats``), for any platform."""
    say("opening")
    package = open_(path, options.limits)
    lap("ingest")
    try:
        facts = gather_(package, options, say)
    except InputError as exc:
        # Readers name the file inside the input; the person needs the input's path too.
        if exc.file and not exc.file.startswith(str(path)):
            exc.file = f"{path}!{exc.file}"
        raise
    lap("formats")
    return package, facts


def peak_memory_mib() -> float:
    """The process's peak resident memory so far, MiB (in a long-lived process: since it started)."""
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return round(peak / (1024**2 if sys.platform == "darwin" else 1024), 1)


def _with_traffic(result: Review, kb: KnowledgeBase, captures: Sequence[str | os.PathLike[str]],
                  device: str | os.PathLike[str] | None, geoip: Sequence[str | os.PathLike[str]],
                  show_values: bool) -> Review:
    from appvet import traffic

    profile = traffic.load_profile(device) if device else None
    notes: list = []
    flows = list(traffic.analyze([Path(c) for c in captures], kb, profile,
                                 geoip=traffic.GeoIp([Path(g) for g in geoip]) if geoip else None,
                                 show_values=show_values, notes=notes))
    report = traffic.join(result, flows, kb, notes, tuple(Path(c).name for c in captures))
    return traffic.apply(result, report)


def _developer(kb: KnowledgeBase, facts: AppFacts, on: date) -> tuple[OwnerLink, ...]:
    """The entity of the signer Android verifies first (the newest scheme), with its ownership chain.

    Only that signer counts: another certificate in the APK (a stray signature file, a signer of an
    older scheme) does not name the developer, however well known its organisation is.
    """
    if not facts.certificates:
        return ()
    entity = match_signer(kb, facts.certificates[0].organisation)
    return sdks.owner_chain(kb, entity, on) if entity else ()


def _bans(kb: KnowledgeBase, package: str | None, label: str | None, on: date) -> tuple[BanHit, ...]:
    hits = []
    for row in bans_for_app(kb, package, label, on):
        hits.append(BanHit(
            list=row["list"], name=row["name"], jurisdiction=row["jurisdiction"], authority=row["authority"],
            instrument=row["instrument"], date=row["date"], status=row["status"], revoked=row.get("revoked"),
            revoked_by=row.get("revoked_by"), matched_by=row["matched_by"],
            listed_as=row.get("listed_package") or row.get("listed_name") or "",
            complete=bool(row.get("complete", True)), sources=tuple(row.get("sources", ())),
            scope=row.get("scope", ""), devices=row.get("devices", "all"), in_force=bool(row.get("in_force")),
            status_since=row.get("status_since"), status_by=row.get("status_by"),
        ))
    return tuple(sorted(hits, key=lambda b: (b.date, b.list)))

"""``review()`` for an iOS app (``.ipa`` or ``.app``): the same ``Review`` as for an APK, plus ``Review.ios``."""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Sequence
from datetime import date
from pathlib import Path

from appvet import __version__, budget
from appvet.analyze import ios_capabilities, ios_endpoints, ios_findings, ios_sdks
from appvet.analyze.sdks import owner_chain
from appvet.bounds import cap_review
from appvet.ingest.interface import Budget, Options
from appvet.ios.bundle import open_bundle
from appvet.ios.gather import IosFacts, gather
from appvet.ios.summary import (
    BinaryImage,
    DeclaredDataType,
    IosSummary,
    PrivacyManifestSummary,
    ProvisionSummary,
    UsageDescription,
)
from appvet.kb import KnowledgeBase
from appvet.kb.ios import IosKnowledge, load_ios
from appvet.kb.lookup import match_signer
from appvet.model import SCHEMA_VERSION, App, OwnerLink, Review

Progress = Callable[[str], None]


def review_ios(path: str | os.PathLike[str], *, kb: KnowledgeBase, options: Options, progress: Progress | None,
               on: date, traffic: Sequence[str | os.PathLike[str]] = (), device: str | os.PathLike[str] | None = None,
               geoip: Sequence[str | os.PathLike[str]] = (), show_values: bool = False,
               ios_kb: IosKnowledge | None = None, timings: dict[str, float] | None = None) -> Review:
    from appvet.review import Laps, _bans, _with_traffic, open_and_gather

    say = progress or (lambda _m: None)
    laps = Laps(timings)
    lap = laps.lap
    timings = laps.timings

    ios_kb = ios_kb or load_ios(kb)
    bundle, facts = open_and_gather(path, open_bundle, gather, options, say, lap)
    say("sdks")
    sdk_hits, attribution = ios_sdks.detect(facts, ios_kb, kb, on)
    lap("sdks")
    say("capabilities")
    caps = ios_capabilities.find(facts, ios_kb, attribution)
    lap("capabilities")
    behaviours = ios_findings.probes(facts, caps)
    say("endpoints")
    eps = budget.cut_stage("endpoints", lambda: ios_endpoints.find(
        facts, kb, attribution, Budget.start("endpoints", options.stage_seconds)), [], facts.skips)
    lap("endpoints")
    found = ios_findings.derive(facts, ios_kb, caps, sdk_hits, behaviours, eps, attribution)
    lap("findings")

    info = facts.info
    main = facts.main
    certs = tuple(facts.signature.certificates[:1]) if facts.signature else ()
    app = App(
        file_name=Path(path).name, sha256=bundle.sha256, size=bundle.size, package=info.bundle_id,
        version_code=info.version, version_name=info.short_version,
        min_sdk=info.min_os or (main.macho.min_os if main and main.macho else None),
        target_sdk=info.sdk or (main.macho.sdk if main and main.macho else None),
        label=info.display_name or info.name, splits=(), dex_files=(),
        native_libs=tuple(i.path for i in facts.images), entries=len(bundle.sizes) + len(bundle.outside),
        signers=certs, developer=_developer(kb, facts, on), platform="ios",
    )
    name = info.display_name or info.name
    result = Review(
        schema_version=SCHEMA_VERSION, app=app, manifest=None, sdks=tuple(sdk_hits), capabilities=tuple(caps),
        endpoints=tuple(eps), findings=tuple(found),
        skips=tuple(sorted(facts.skips, key=lambda s: (s.stage, s.locator))), verdict=None,
        versions={"appvet": __version__, "kb": kb.version, "kb_ios": ios_kb.version, "schema": SCHEMA_VERSION},
        behaviours=tuple(behaviours), bans=_bans(kb, info.bundle_id, name, on), review_date=on.isoformat(),
        timings=timings, ios=summarise(facts, ios_kb, attribution),
    )
    if traffic:
        say("traffic")
        result = _with_traffic(result, kb, traffic, device, geoip, show_values)
        lap("traffic")
    return cap_review(result)


def _developer(kb: KnowledgeBase, facts: IosFacts, on: date) -> tuple[OwnerLink, ...]:
    """The signer's organisation, else the provisioning profile's team name, matched to a KB entity."""
    names = [c.organisation for c in (facts.signature.certificates if facts.signature else [])]
    if facts.provision is not None:
        names.append(facts.provision.team_name)
    for org in names:
        entity = match_signer(kb, org)
        if entity:
            return owner_chain(kb, entity, on)
    return ()


def summarise(facts: IosFacts, ios_kb: IosKnowledge, attribution: ios_sdks.IosAttribution) -> IosSummary:
    info = facts.info
    usage = []
    for key, text in info.usage.items():
        api = ios_kb.api("usage-key", key)
        usage.append(UsageDescription(key, text, api.categories if api else ()))
    manifests = []
    for pm in facts.privacy:
        image = next((i for i in facts.images if i.owner == pm.owner and i.kind != "main"), None)
        sdk = attribution.image_holder(image) if image else None
        manifests.append(PrivacyManifestSummary(
            path=facts.bundle.path(pm.path), owner=pm.owner, sdk=sdk if sdk and sdk != "first-party" else None,
            tracking=pm.tracking, tracking_domains=tuple(pm.tracking_domains),
            collected=tuple(DeclaredDataType(c.type, a.categories if (a := ios_kb.api("privacy-data-type", c.type))
                                             else (), c.linked, c.tracking, c.purposes) for c in pm.collected),
            accessed_apis=tuple(f"{a.type}: {', '.join(a.reasons)}" for a in pm.accessed_apis),
        ))
    sig = facts.signature
    ents = tuple(sorted((str(k), json.dumps(v, sort_keys=True, default=str)) for k, v in
                        (sig.entitlements.items() if sig else ())))
    prov = facts.provision
    binaries = []
    for i in facts.images:
        m = i.macho
        if m is None:
            continue
        binaries.append(BinaryImage(
            path=i.path, kind=i.kind, owner=i.owner, arch=m.arch, slices=m.slices, encrypted=m.encrypted,
            min_os=m.min_os, libraries=tuple(lib for lib, _how in m.libraries), objc_classes=len(m.objc_classes),
            objc_selectors=len(m.objc_selectors), swift_types=len(m.swift_types),
            team_id=i.signature.team_id if i.signature else None,
            signing_id=i.signature.identifier if i.signature else None))
    return IosSummary(
        bundle_id=info.bundle_id, executable=info.executable, min_os=info.min_os,
        url_schemes=tuple(info.url_schemes), queried_schemes=tuple(info.queried_schemes),
        background_modes=tuple(info.background_modes), ats_arbitrary_loads=info.ats_arbitrary_loads,
        ats_insecure_domains=tuple(e.domain for e in info.ats_exceptions if e.insecure_http),
        usage=tuple(usage), privacy_manifests=tuple(manifests), entitlements=ents,
        team_id=sig.team_id if sig else None, signing_id=sig.identifier if sig else None,
        provision=ProvisionSummary(prov.name, tuple(prov.team_ids), prov.team_name, prov.app_id_name, prov.expires,
                                   prov.devices, prov.all_devices) if prov else None,
        binaries=tuple(binaries),
        frameworks=tuple(facts.bundle.path(c.rel) for c in facts.containers if c.kind in (".framework", ".appex")),
    )

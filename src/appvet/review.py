"""The one library call everything else wraps: ``review(path) -> Review``."""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from pathlib import Path

from appvet import __version__
from appvet.analyze import capabilities, endpoints, findings, sdks
from appvet.analyze.facts import gather
from appvet.errors import InputError
from appvet.ingest.interface import Budget, Options
from appvet.ingest.open import open_input
from appvet.kb import KnowledgeBase, load_kb
from appvet.model import SCHEMA_VERSION, App, Review

Progress = Callable[[str], None]


def review(
    path: str | os.PathLike[str],
    *,
    kb: KnowledgeBase | None = None,
    options: Options | None = None,
    progress: Progress | None = None,
) -> Review:
    """Review one APK or split-APK bundle. Raises an ``InputError`` for input that cannot be reviewed."""
    options = options or Options()
    say = progress or (lambda _msg: None)
    timings: dict[str, float] = {}
    t0 = time.perf_counter()

    def lap(stage: str) -> None:
        nonlocal t0
        now = time.perf_counter()
        timings[stage] = round(now - t0, 4)
        t0 = now

    if kb is None:
        say("knowledge base")
        kb = load_kb()
        lap("kb")
    say("opening")
    package = open_input(path, options.limits)
    lap("ingest")
    try:
        facts = gather(package, options, say)
    except InputError as exc:
        # Readers name the file inside the input; the person needs the input's path too.
        if exc.file and not exc.file.startswith(str(path)):
            exc.file = f"{path}!{exc.file}"
        raise
    lap("formats")

    say("sdks")
    sdk_hits, attribution = sdks.detect(facts, kb)
    lap("sdks")
    say("capabilities")
    caps = capabilities.find(facts, kb, attribution, Budget.start("capabilities", options.stage_seconds))
    lap("capabilities")
    say("endpoints")
    eps = endpoints.find(facts, kb, attribution, Budget.start("endpoints", options.stage_seconds))
    lap("endpoints")
    found = findings.derive(facts, caps, sdk_hits)
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
    )
    return Review(
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
        timings=timings,
    )

"""The ``heavy`` fixture: code shaped to make flow search expensive, and components without filters.

heavy.apk holds a lattice of calls with 16 * 16**4 paths from a source to a sink, a method with
240 registers and 600 branches, a 1,500-append StringBuilder chain, a 2,000-case switch and a
1,500-field static initialiser (see scripts/heavy_smali.py). A search that keeps one chain per path
holds over a million facts here; one that keeps a chain per key holds a few thousand.
"""

from __future__ import annotations

from datetime import date

import pytest

from appvet.analyze import callgraph, flows, reachability, sdks
from appvet.analyze.facts import gather
from appvet.ingest.interface import Budget, Options
from appvet.ingest.open import open_input
from appvet.model import Review
from appvet.review import review
from tests.conftest import BUILT

ON = date(2025, 1, 1)
PKG = "Lorg/example/heavy/"


@pytest.fixture(scope="module")
def heavy(kb) -> Review:  # type: ignore[no-untyped-def]
    return review(BUILT / "heavy.apk", kb=kb, on=ON)


def _facts():  # type: ignore[no-untyped-def]
    options = Options()
    return gather(open_input(BUILT / "heavy.apk", options.limits), options)


def test_components_without_intent_filters_are_entry_points() -> None:
    graph = callgraph.build(_facts())
    why = {graph.labels[g]: reason for g, reason in graph.entries.items()}
    # A service whose class defines no constructor: the methods Android calls are the entries.
    assert why[f"{PKG}SyncService;->onStartCommand(Landroid/content/Intent;II)I"] == \
        "manifest service org.example.heavy.SyncService"
    # A receiver whose class defines no method: its app superclass's constructor and callbacks.
    assert why[f"{PKG}BaseReceiver;-><init>()V"] == "manifest receiver org.example.heavy.BootReceiver"
    assert why[f"{PKG}BaseReceiver;->onReceive(Landroid/content/Context;Landroid/content/Intent;)V"] == \
        "manifest receiver org.example.heavy.BootReceiver"
    assert why[f"{PKG}DataProvider;-><init>()V"] == "manifest provider org.example.heavy.DataProvider"
    assert why[f"{PKG}MainActivity;-><init>()V"] == "manifest activity org.example.heavy.MainActivity"


def test_code_started_only_by_filterless_components_is_reachable(heavy: Review) -> None:
    caps = {c.category: c for c in heavy.capabilities if c.holder == "first-party"}
    location = caps["precise_location"]
    assert location.confidence == "reachable"
    assert location.witness[0] == "entry: manifest receiver org.example.heavy.BootReceiver"
    assert not any("no entry point" in s.reason for s in heavy.skips)


def test_flow_search_on_pathological_code_completes_with_bounded_state(kb) -> None:  # type: ignore[no-untyped-def]
    facts = _facts()
    _hits, attribution = sdks.detect(facts, kb, ON)
    reach, _skips = reachability.compute(facts, Budget.start("reachability", 120))
    assert reach is not None
    an = flows._Analyser(facts, kb, reach, attribution)
    found, skips = flows.find(facts, kb, attribution, reach)
    assert not any("stopped after" in s.reason for s in skips), skips
    pairs = {(f.source.rsplit("->", 1)[1], f.sink.rsplit("->", 1)[1]) for f in found}
    assert pairs == {("getDeviceId", "d"), ("getLastKnownLocation", "<init>")}
    # Run the search again on its own analyser to read what it kept.
    todo = sorted(an.seeds())
    for gid in todo:
        an.analyse(gid)
    assert not an.stopped
    assert an.state.stored < 20_000, an.state.stored
    assert len(an.state.sinks) < 2_000


def test_heavy_reviews_fully_under_default_bounds(heavy: Review) -> None:
    assert not [s for s in heavy.skips if "stopped after" in s.reason or "time guard" in s.reason]
    assert {f.category for f in heavy.code_flows} == {"device_identifiers", "precise_location"}

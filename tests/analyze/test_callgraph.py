"""Call graph, reachability and SDK initialisation, checked against what the fixture sources say."""

from __future__ import annotations

import itertools
import json
import re
import zipfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from appvet.analyze import callgraph
from appvet.analyze.facts import gather
from appvet.android.dex import parse_dex
from appvet.errors import FormatError
from appvet.ingest.interface import Options
from appvet.ingest.open import open_input
from appvet.model import Review
from appvet.review import review
from tests.conftest import BUILT, FIXTURES

EXPECTED = json.loads((FIXTURES / "expected" / "reach.json").read_text())
APPS = FIXTURES / "apps"


@pytest.fixture(scope="module")
def reach_review(kb) -> Review:  # type: ignore[no-untyped-def]
    return review(BUILT / "reach.apk", kb=kb)


@pytest.fixture(scope="module")
def multisdk_review(kb) -> Review:  # type: ignore[no-untyped-def]
    return review(BUILT / "multisdk.apk", kb=kb)


def _graph(apk: str) -> callgraph.CallGraph:
    options = Options()
    return callgraph.build(gather(open_input(BUILT / apk, options.limits), options))


def _smali_methods(src: Path) -> set[str]:
    """``Lcls;->name(proto)ret`` of every ``.method`` in a smali tree, read from the sources."""
    out = set()
    for path in src.rglob("*.smali"):
        text = path.read_text()
        cls = re.search(r"^\.class .*?(L\S+;)$", text, re.M).group(1)  # type: ignore[union-attr]
        for m in re.finditer(r"^\.method .*?(\S+\(.*)$", text, re.M):
            out.add(f"{cls}->{m.group(1)}")
    return out


def _descriptor(dotted: str) -> str:
    return "L" + dotted.replace(".", "/") + ";"


# --- DexFile.class_methods / method_refs --------------------------------------------------------


@pytest.mark.parametrize("app", ["reach", "multisdk"])
def test_class_methods_lists_every_method_the_sources_define(app: str) -> None:
    with zipfile.ZipFile(BUILT / f"{app}.apk") as z:
        dex = parse_dex(z.read("classes.dex"), "classes.dex")
    refs = dex.method_refs()
    assert refs == [dex.method_ref(i) for i in range(dex.method_count)]
    defined = {f"{c}->{n}{p}" for cls, idxs, _flags in dex.class_methods() for c, n, p in (refs[i] for i in idxs)}
    assert defined == _smali_methods(APPS / app / "src")


def test_class_methods_keeps_access_flags_and_abstract_methods() -> None:
    with zipfile.ZipFile(BUILT / "reach.apk") as z:
        dex = parse_dex(z.read("classes.dex"), "classes.dex")
    table = {cls: dict(zip((dex.method_ref(i)[1] for i in idxs), flags, strict=True))
             for cls, idxs, flags in dex.class_methods()}
    assert table["Lorg/example/reach/Collector;"]["collect"] & callgraph.ACC_ABSTRACT
    assert table["Lorg/example/reach/AppList;"]["scan"] & (callgraph.ACC_PRIVATE | callgraph.ACC_STATIC) == 0xA
    assert table["Lorg/example/reach/Worker;"]["<init>"] & callgraph.ACC_CONSTRUCTOR


def _fixture_dex() -> bytes:
    with zipfile.ZipFile(BUILT / "reach.apk") as z:
        return z.read("classes.dex")


FIXTURE_DEX = _fixture_dex()


@given(edits=st.lists(st.tuples(st.integers(0, len(FIXTURE_DEX) - 1), st.integers(0, 255)), min_size=1, max_size=12))
@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
def test_class_methods_on_mutated_dex_returns_or_raises_format_error(edits: list[tuple[int, int]]) -> None:
    data = bytearray(FIXTURE_DEX)
    for at, value in edits:
        data[at] = value
    try:
        dex = parse_dex(bytes(data), "classes.dex")
        for _cls, idxs, flags in dex.class_methods():
            assert len(idxs) == len(flags)
            assert all(i < dex.method_count for i in idxs)
        dex.method_refs()
    except FormatError as exc:
        assert exc.file == "classes.dex"


# --- the graph ----------------------------------------------------------------------------------


def test_entries_are_the_manifest_components_and_application() -> None:
    g = _graph("reach.apk")
    reasons = {g.labels[gid]: why for gid, why in g.entries.items()}
    assert reasons["Lorg/example/reach/MainActivity;-><init>()V"] == "manifest activity org.example.reach.MainActivity"
    assert reasons["Lorg/example/reach/ReachApp;-><init>()V"].startswith("manifest application")
    assert reasons["Lcom/umeng/commonsdk/UMInitProvider;-><init>()V"].startswith("manifest provider")
    assert not any("UnusedWorker" in label or "DeadCode" in label for label in reasons)


def test_interface_call_resolves_to_the_implementation_by_cha() -> None:
    g = _graph("reach.apk")
    on_start = g.by_label["Lorg/example/reach/MainActivity;->onStart()V"]
    impl = g.by_label["Lorg/example/reach/SimCollector;->collect(Landroid/content/Context;)Ljava/lang/String;"]
    assert impl in g.succ[on_start]


def test_callbacks_of_an_instantiated_runnable_only() -> None:
    g = _graph("reach.apk")
    _parent, depth = callgraph.shortest_paths(g)
    run = g.by_label["Lorg/example/reach/Worker;->run()V"]
    unused = g.by_label["Lorg/example/reach/UnusedWorker;->run()V"]
    assert depth[run] > 0
    assert depth[unused] == -1


def test_static_field_read_runs_the_static_initialiser() -> None:
    g = _graph("reach.apk")
    on_start = g.by_label["Lorg/example/reach/MainActivity;->onStart()V"]
    assert g.by_label["Lorg/example/reach/AppList;-><clinit>()V"] in g.succ[on_start]


def test_cross_dex_call_is_an_edge() -> None:
    g = _graph("multidex.apk")
    caller = g.by_label["Lcom/example/multidex/MainActivity;->onCreate(Landroid/os/Bundle;)V"]
    callee = g.by_label["Lcom/example/multidex/accounts/AccountReader;->countAccounts(Landroid/content/Context;)I"]
    assert callee in g.succ[caller]


def test_witness_is_a_shortest_path_from_an_entry() -> None:
    g = _graph("reach.apk")
    parent, _depth = callgraph.shortest_paths(g)
    line = g.by_label["Lorg/example/reach/PhoneInfo;->line(Landroid/content/Context;)Ljava/lang/String;"]
    path = callgraph.witness(g, parent, line)
    assert path == (
        "entry: manifest activity org.example.reach.MainActivity",
        "Lorg/example/reach/MainActivity;-><init>()V",
        "Lorg/example/reach/MainActivity;->onCreate(Landroid/os/Bundle;)V",
        "Lorg/example/reach/Worker;-><init>(Landroid/content/Context;)V",
        "Lorg/example/reach/Worker;->run()V",
        "Lorg/example/reach/PhoneInfo;->line(Landroid/content/Context;)Ljava/lang/String;",
    )
    # every step is an edge of the graph
    gids = [g.by_label[label] for label in path[1:]]
    assert all(b in g.succ[a] for a, b in itertools.pairwise(gids))


# --- wired into review() ------------------------------------------------------------------------


def test_reach_capabilities_follow_the_expected_reachability(reach_review: Review) -> None:
    for call in EXPECTED["api_calls"]:
        if "category" not in call:
            continue
        where = f"{_descriptor(call['class'])}->{call['method']}("
        caps = [c for c in reach_review.capabilities if c.category == call["category"]
                and any(e.locator.startswith(where) for e in c.evidence)]
        assert caps, call
        cap = caps[0]
        if call["reachable"]:
            assert cap.confidence == "reachable", call
            assert cap.witness[0].startswith("entry: ")
            assert cap.witness[-2].startswith(where)
            assert cap.witness[-1] == "calls " + call["api"].split("(")[0].split(":")[0]
        elif cap.witness:
            # the capability is reachable through another site of the same holder, never this one
            assert not cap.witness[-2].startswith(where), call
        else:
            assert cap.confidence == "present", call


def test_phone_number_witness_goes_through_line_number_not_voicemail(reach_review: Review) -> None:
    [cap] = [c for c in reach_review.capabilities if c.category == "phone_number" and c.holder == "first-party"]
    assert cap.confidence == "reachable"
    assert cap.witness[-1] == "calls Landroid/telephony/TelephonyManager;->getLine1Number"


def test_sdk_initialised_both_ways(reach_review: Review) -> None:
    sdks = {s.id: s for s in reach_review.sdks}
    assert sdks["umeng-analytics"].initialised is True
    assert sdks["umeng-analytics"].witness[0] == "entry: manifest provider com.umeng.commonsdk.UMInitProvider"
    assert sdks["tencent-bugly"].initialised is False
    assert sdks["tencent-bugly"].witness == ()


def test_multisdk_reachability_matches_the_readme_call_graph(multisdk_review: Review) -> None:
    """README: nothing calls UMConfigure.getLogUrl, CrashReport.getUploadUrl or XmlHelper."""
    g = _graph("multisdk.apk")
    _parent, depth = callgraph.shortest_paths(g)
    for label, reached in [
        ("Lcom/umeng/commonsdk/UMConfigure;->getLogUrl()Ljava/lang/String;", False),
        ("Lcom/tencent/bugly/crashreport/CrashReport;->getUploadUrl()Ljava/lang/String;", False),
        ("Lcom/tencent/bugly/crashreport/CrashReport;->readClipboard(Landroid/content/Context;)"
         "Landroid/content/ClipData;", True),
        ("Lcom/umeng/commonsdk/statistics/common/DeviceConfig;->getDeviceId(Landroid/content/Context;)"
         "Ljava/lang/String;", True),
    ]:
        assert (depth[g.by_label[label]] >= 0) is reached, label
    assert {c.confidence for c in multisdk_review.capabilities if c.holder != "manifest"} == {"reachable"}
    assert all(s.initialised for s in multisdk_review.sdks if s.class_count)
    av101 = [f for f in multisdk_review.findings if f.rule == "AV101"]
    assert av101 and {f.confidence for f in av101} == {"reachable"}


def test_class_for_name_with_a_constant_initialises_only(kb) -> None:  # type: ignore[no-untyped-def]
    """bundle: MainActivity.onCreate does Class.forName("...SubscriberInfo"); nothing calls imsi()."""
    g = _graph("bundle.apks")
    _parent, depth = callgraph.shortest_paths(g)
    assert depth[g.by_label["Lcom/example/bundle/extra/SubscriberInfo;-><init>()V"]] == 2  # entry, onCreate, here
    assert depth[g.by_label["Lcom/example/bundle/extra/SubscriberInfo;->imsi(Landroid/content/Context;)"
                            "Ljava/lang/String;"]] == -1
    r = review(BUILT / "bundle.apks", kb=kb)
    [cap] = [c for c in r.capabilities if c.category == "sim_identifiers" and c.holder == "first-party"]
    assert cap.confidence == "present" and cap.witness == ()
    assert "reachability" in r.timings


def test_code_offsets_cover_the_methods_with_code() -> None:
    with zipfile.ZipFile(BUILT / "reach.apk") as z:
        dex = parse_dex(z.read("classes.dex"), "classes.dex")
    refs = dex.method_refs()
    with_code = {f"{c}->{n}{p}" for c, n, p in (refs[i] for i in dex.code_offsets())}
    no_code = {f"{c}->{n}{p}" for _cls, idxs, flags in dex.class_methods()
               for (c, n, p), acc in zip((refs[i] for i in idxs), flags, strict=True)
               if acc & (callgraph.ACC_ABSTRACT | 0x100)}
    assert with_code | no_code == _smali_methods(APPS / "reach" / "src")
    assert not with_code & no_code
    for off in dex.code_offsets().values():
        registers, ins, units = dex.code_units(off)
        assert ins <= registers and units > 0
    assert dex.field_refs() == [dex.field_ref(i) for i in range(dex.field_count)]


@given(edits=st.lists(st.tuples(st.integers(0, len(FIXTURE_DEX) - 1), st.integers(0, 255)), min_size=1, max_size=8))
@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
def test_passes_on_a_mutated_dex_finish_or_raise_format_error(edits: list[tuple[int, int]], kb) -> None:  # type: ignore[no-untyped-def]
    """Hostile code: the graph, behaviours, flows, native and obfuscation passes never crash."""
    from appvet.analyze import behaviours, flows, native, obfuscation, reachability, sdks
    from appvet.analyze.interface import DexUnit
    from appvet.ingest.interface import Budget

    data = bytearray(FIXTURE_DEX)
    for at, value in edits:
        data[at] = value
    options = Options()
    facts = gather(open_input(BUILT / "reach.apk", options.limits), options)
    try:
        facts.dex = [DexUnit("classes.dex", parse_dex(bytes(data), "classes.dex"))]
        hits, attribution = sdks.detect(facts, kb)
        reach, _skips = reachability.compute(facts, Budget.start("r", 30))
        behaviours.find(facts, attribution, reach)
        flows.find(facts, kb, attribution, reach)
        native.bind(facts, reach)
        obfuscation.find(facts, kb, hits)
    except FormatError as exc:
        assert exc.file == "classes.dex"

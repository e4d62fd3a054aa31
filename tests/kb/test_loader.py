"""Loading, validation and overlays of the knowledge base."""

from __future__ import annotations

import contextlib
import json
import os
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from appvet.errors import KnowledgeBaseError
from appvet.kb import KnowledgeBase, load_kb, loader

SRC = "https://example.org/source"


def _write(directory: Path, name: str, kind: str, rows: list[dict[str, Any]]) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / name
    path.write_text(json.dumps({"kind": kind, "rows": rows}), encoding="utf-8")
    return path


def _entity(ident: str, parent: str | None = None, country: str | None = "US") -> dict[str, Any]:
    return {
        "id": ident,
        "name": ident.title(),
        "country_hq": country,
        "country_inc": None,
        "parent": parent,
        "sources": [{"url": SRC, "as_of": "2026-01-01"}],
    }


def _sdk(ident: str, owner: str, prefixes: list[str], **extra: Any) -> dict[str, Any]:
    return {
        "id": ident,
        "name": ident,
        "owner": owner,
        "categories": ["analytics"],
        "class_prefixes": prefixes,
        "sources": [{"url": SRC, "as_of": "2026-01-01"}],
        **extra,
    }


def test_packaged_kb_loads_with_the_promised_content() -> None:
    kb = load_kb()
    assert isinstance(kb, KnowledgeBase)
    assert len(kb.categories) == 18
    assert len({(a.kind, a.ref) for a in kb.apis}) >= 80
    assert len([s for s in kb.sdks.values() if not s.id.startswith(("exodus.", "libchecker.", "libradar."))]) >= 60
    date, _, digest = kb.version.partition("+")
    assert len(date) == 10 and len(digest) == 8


def test_schema_failure_names_file_and_row(tmp_path: Path) -> None:
    bad = _sdk("broken", "google", ["com.broken."])
    bad["categories"] = ["not-a-category"]
    _write(tmp_path, "sdks.json", "sdks", [_sdk("fine", "google", ["com.fine."]), bad])
    with pytest.raises(KnowledgeBaseError) as info:
        load_kb([tmp_path])
    text = info.value.diagnostics()
    assert "sdks.json" in text
    assert "row 1" in text and "'broken'" in text


def test_missing_required_field_is_reported(tmp_path: Path) -> None:
    row = _entity("nameless")
    del row["name"]
    _write(tmp_path, "entities.json", "entities", [row])
    with pytest.raises(KnowledgeBaseError, match=r"row 0 .*'name' is a required property"):
        load_kb([tmp_path])


def test_unparseable_file_is_named(tmp_path: Path) -> None:
    (tmp_path / "entities.json").write_text("{not json", encoding="utf-8")
    with pytest.raises(KnowledgeBaseError) as info:
        load_kb([tmp_path])
    assert info.value.file is not None and info.value.file.endswith("entities.json")


def test_unknown_kind_is_rejected(tmp_path: Path) -> None:
    _write(tmp_path, "x.json", "widgets", [])
    with pytest.raises(KnowledgeBaseError, match="unknown kind"):
        load_kb([tmp_path])


def test_dangling_parent_is_an_error(tmp_path: Path) -> None:
    _write(tmp_path, "entities.json", "entities", [_entity("orphan", parent="no-such-entity")])
    with pytest.raises(KnowledgeBaseError) as info:
        load_kb([tmp_path])
    assert "no-such-entity" in info.value.message and "row 0" in info.value.message
    assert info.value.file is not None and info.value.file.endswith("entities.json")


def test_dangling_sdk_owner_is_an_error(tmp_path: Path) -> None:
    _write(tmp_path, "sdks.json", "sdks", [_sdk("lost", "nobody-owns-this", ["com.lost."])])
    with pytest.raises(KnowledgeBaseError, match="owner 'nobody-owns-this' is not an entity"):
        load_kb([tmp_path])


def test_ownership_cycle_is_detected(tmp_path: Path) -> None:
    _write(tmp_path, "entities.json", "entities", [_entity("a-co", parent="b-co"), _entity("b-co", parent="a-co")])
    with pytest.raises(KnowledgeBaseError, match="ownership cycle"):
        load_kb([tmp_path])


def test_overlay_rows_override_by_id(tmp_path: Path) -> None:
    packaged = load_kb()
    original = packaged.entities["tencent"]
    row = _entity("tencent", country="CN")
    row["name"] = "Renamed in overlay"
    _write(tmp_path, "entities.json", "entities", [row])
    kb = load_kb([tmp_path])
    assert kb.entities["tencent"].name == "Renamed in overlay"
    assert original.name != "Renamed in overlay"
    assert kb.version != packaged.version


def test_yaml_overlay(tmp_path: Path) -> None:
    (tmp_path / "local.yaml").write_text(
        "kind: entities\nrows:\n  - id: local-co\n    name: Local Co\n    country_hq: FR\n"
        "    sources: [{url: 'https://example.org/', as_of: '2026-02-01'}]\n",
        encoding="utf-8",
    )
    kb = load_kb([tmp_path])
    assert kb.jurisdictions("local-co") == ["FR"]


def test_three_level_owner_chain_from_overlay(tmp_path: Path) -> None:
    _write(
        tmp_path,
        "entities.json",
        "entities",
        [
            _entity("ultimate-co", country="KY"),
            _entity("parent-co", parent="ultimate-co", country="CN"),
            _entity("subsidiary-co", parent="parent-co", country="SG"),
        ],
    )
    _write(tmp_path, "sdks.json", "sdks", [_sdk("chain-sdk", "subsidiary-co", ["org.chain."])])
    kb = load_kb([tmp_path])
    owner = kb.sdks[kb.sdk_for_class("org.chain.Tracker") or ""].owner
    assert [e.id for e in kb.owner_chain(owner)] == ["subsidiary-co", "parent-co", "ultimate-co"]
    assert kb.jurisdictions(owner) == ["CN", "KY", "SG"]


def test_packaged_chains() -> None:
    kb = load_kb()
    assert [e.id for e in kb.owner_chain(kb.sdks["pangle"].owner)] == ["bytedance-sg", "bytedance"]
    assert kb.jurisdictions("bytedance-sg") == ["CN", "KY", "SG"]
    assert [e.id for e in kb.owner_chain(kb.sdks["firebase-analytics"].owner)] == ["google", "alphabet"]
    assert kb.owner_chain("no-such-entity") == [] and kb.owner_chain(None) == []


@pytest.mark.parametrize(
    ("entity", "day", "chain"),
    [
        # Flurry: Yahoo -> Oath/Verizon Media under Verizon (2017-06-13) -> Apollo funds (2021-09-01).
        ("flurry", "2016-06-01", ["flurry", "yahoo"]),
        ("flurry", "2019-06-01", ["flurry", "yahoo", "verizon-media", "verizon"]),
        ("flurry", "2021-08-31", ["flurry", "yahoo", "verizon-media", "verizon"]),
        ("flurry", "2021-09-01", ["flurry", "yahoo", "verizon-media", "apollo"]),
        # MoPub: Twitter until the sale closed on 2022-01-01; Twitter itself private under X Holdings from 2022-10-27.
        ("mopub", "2021-12-31", ["mopub", "twitter"]),
        ("mopub", "2022-01-01", ["mopub", "applovin"]),
        ("adjust", "2021-04-19", ["adjust"]),
        ("adjust", "2021-04-20", ["adjust", "applovin"]),
        ("twitter", "2022-10-26", ["twitter"]),
        ("twitter", "2022-10-27", ["twitter", "x-holdings"]),
        ("chartboost", "2022-06-01", ["chartboost", "zynga", "take-two"]),
        ("bugsense", "2024-03-17", ["bugsense", "splunk"]),
        ("bugsense", "2024-03-18", ["bugsense", "splunk", "cisco"]),
        ("adcolony", "2020-01-01", ["adcolony", "otello"]),
        ("adcolony", "2021-04-29", ["adcolony", "digital-turbine"]),
        ("segment", "2020-11-02", ["segment", "twilio"]),
        ("tapjoy", "2023-01-01", ["tapjoy", "ironsource", "unity"]),
        ("google", "2015-10-01", ["google"]),
        ("google", "2015-10-02", ["google", "alphabet"]),
    ],
)
def test_packaged_chains_on_a_date(entity: str, day: str, chain: list[str]) -> None:
    kb = load_kb()
    assert [e.id for e in kb.owner_chain(entity, date.fromisoformat(day))] == chain


def test_cache_is_used_and_survives_corruption(tmp_path: Path, _isolated_cache: Path) -> None:
    first = load_kb(use_cache=True)
    pickles = list(_isolated_cache.glob("kb-*.pickle"))
    assert len(pickles) == 1
    loader._memo.clear()
    second = load_kb()
    assert second is not first and second.version == first.version
    assert second.sdk_for_class("com.appsflyer.AppsFlyerLib") == "appsflyer"
    pickles[0].write_bytes(b"not a pickle")
    loader._memo.clear()
    third = load_kb()
    assert third.version == first.version


def test_unwritable_cache_dir_falls_back(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    blocker = tmp_path / "file-not-dir"
    blocker.write_text("x", encoding="utf-8")
    monkeypatch.setenv("APPVET_CACHE_DIR", str(blocker / "sub"))
    kb = load_kb()
    assert kb.sdk_for_class("com.umeng.analytics.MobclickAgent") == "umeng-analytics"


def test_cache_can_be_switched_off(monkeypatch: pytest.MonkeyPatch, _isolated_cache: Path) -> None:
    monkeypatch.setenv("APPVET_KB_CACHE", "0")
    load_kb()
    assert not list(_isolated_cache.glob("kb-*.pickle"))


def test_overlay_must_be_a_directory(tmp_path: Path) -> None:
    with pytest.raises(KnowledgeBaseError, match="not a directory"):
        load_kb([tmp_path / "missing"])


def test_every_packaged_file_declares_a_known_kind() -> None:
    for kb_file in loader.kb_files(loader.DATA_DIR):
        kind, rows = loader.parse_file(kb_file)
        assert kind in loader.RUNTIME_KINDS + loader.BUILD_KINDS, kb_file.label
        assert rows, kb_file.label
    assert os.path.isdir(loader.SCHEMA_DIR)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.binary(max_size=300))
def test_random_overlay_bytes_load_or_raise_kb_error(tmp_path: Path, data: bytes) -> None:
    path = tmp_path / "entities.json"
    path.write_bytes(data)
    with contextlib.suppress(KnowledgeBaseError):
        load_kb([tmp_path], use_cache=False)


_json = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=8),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=6), inner, max_size=4),
    max_leaves=12,
)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(kind=st.sampled_from(["entities", "sdks", "apis", "categories"]), rows=_json)
def test_random_overlay_documents_load_or_raise_kb_error(tmp_path: Path, kind: str, rows: object) -> None:
    (tmp_path / "x.json").write_text(json.dumps({"kind": kind, "rows": rows}), encoding="utf-8")
    with contextlib.suppress(KnowledgeBaseError):
        load_kb([tmp_path], use_cache=False)


def test_deeply_nested_json_is_a_kb_error(tmp_path: Path) -> None:
    (tmp_path / "entities.json").write_text("[" * 100_000, encoding="utf-8")
    with pytest.raises(KnowledgeBaseError):
        load_kb([tmp_path])

"""Properties every packaged row must have, and the statistics/validation helpers."""

from __future__ import annotations

import json
import re
from pathlib import Path

from appvet.kb import load_kb
from appvet.kb.loader import DATA_DIR as DATA
from appvet.kb.stats import kb_stats, validate

TAXONOMY = {
    "face_biometrics", "precise_location", "coarse_location", "contacts_social_graph", "phone_number",
    "device_identifiers", "sim_identifiers", "wifi_network", "camera", "microphone", "sms", "call_log",
    "clipboard", "installed_apps", "accounts", "calendar", "photos_media_files", "health_sensors",
}  # fmt: skip
DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")


def test_taxonomy_is_closed_and_complete() -> None:
    kb = load_kb()
    assert set(kb.categories) == TAXONOMY
    assert {a.category for a in kb.apis} <= TAXONOMY


def test_every_sdk_owner_has_a_country_or_is_explicitly_unknown() -> None:
    kb = load_kb()
    missing = {s.id for s in kb.sdks.values() if not kb.jurisdictions(s.owner)}
    unknown = {s.id for s in kb.sdks.values() if s.owner is None}
    assert missing == unknown
    assert all(len(kb.sdks[i].owner_unknown) >= 10 for i in unknown)
    owners = json.loads((DATA / "exodus-owners.json").read_text(encoding="utf-8"))["rows"]
    not_established = {r["exodus_id"] for r in owners if r["owner"] is None}
    assert {kb.sdks[i].exodus_id for i in unknown if kb.sdks[i].exodus_id} <= not_established


def test_no_stand_in_entities() -> None:
    kb = load_kb()
    assert not [e.id for e in kb.entities.values() if e.id.startswith("exodus-operator.")]
    assert not [e.id for e in kb.entities.values() if "not established" in e.name]
    assert not (DATA / "imported" / "29-exodus-operators.json").exists()


def test_every_row_is_sourced_and_dated() -> None:
    kb = load_kb()
    rows = [*kb.entities.values(), *kb.sdks.values(), *kb.apis, *kb.categories.values()]
    for row in rows:
        assert row.sources, row
        for src in row.sources:
            assert src.url.startswith(("http://", "https://")), row
            assert DATE.match(src.as_of), row


def test_prefixes_are_dotted_packages_or_classes() -> None:
    kb = load_kb()
    for sdk in kb.sdks.values():
        for prefix in (*sdk.class_prefixes, *sdk.weak_prefixes):
            assert "/" not in prefix and not prefix.startswith("L"), (sdk.id, prefix)
            assert prefix.count(".") >= 1, (sdk.id, prefix)


def test_api_refs_are_jvm_descriptors() -> None:
    kb = load_kb()
    for api in kb.apis:
        if api.kind in ("method", "field"):
            assert re.match(r"^L[\w/$]+;->[\w$<>]+$", api.ref), api.ref


def test_stats_and_validation() -> None:
    kb = load_kb()
    stats = kb_stats(kb)
    assert stats["counts"]["categories"] == 18
    counts = stats["counts"]
    established = 1 - counts["sdks_owner_unknown"] / counts["sdks"]
    assert stats["sdks_with_owner_country"] == round(established, 4)
    # The floors: every Exodus tracker present, 600 SDKs, 150 China-HQ SDKs, 2,000 domains.
    assert counts["exodus_trackers_present"] == 432
    assert counts["sdks"] >= 600
    assert counts["sdks_china_hq"] >= 150
    assert counts["domains"] >= 2000
    assert stats["entities_with_source"] == 1.0
    assert stats["signatures"]["class_prefixes"] > 100


def test_shipped_knowledge_base_validates_with_zero_problems() -> None:
    """Any new error or warning in the packaged data fails the suite (and so ``make test`` and CI)."""
    problems = validate(load_kb(use_cache=False))
    assert problems == []


def test_validate_reports_shared_and_redundant_prefixes(tmp_path: Path) -> None:
    src = [{"url": "https://example.org/", "as_of": "2026-01-01"}]
    rows = [
        {"id": "dup-a", "name": "A", "owner": "google", "categories": ["ads"], "sources": src,
         "class_prefixes": ["com.dup.", "com.dup.x."]},
        {"id": "dup-b", "name": "B", "owner": "google", "categories": ["ads"], "sources": src,
         "class_prefixes": ["com.dup."], "weak_prefixes": ["com.dup."]},
    ]  # fmt: skip
    (tmp_path / "sdks.json").write_text(json.dumps({"kind": "sdks", "rows": rows}), encoding="utf-8")
    kb = load_kb([tmp_path])
    problems = validate(kb)
    assert any("class prefix 'com.dup.' claimed by dup-a, dup-b; dup-b wins" in p for p in problems)
    assert any("redundant" in p and "com.dup.x." in p for p in problems)
    assert any("weak prefix 'com.dup.'" in p for p in problems)
    assert kb.sdk_for_class("com.dup.Y") == "dup-b"

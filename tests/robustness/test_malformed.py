"""Every file of the malformed-APK corpus (scripts/build-malformed) gets its decided outcome.

Each case is either reviewed, with what could not be read reported as Skips (or as an archive
oddity finding), or refused with exit 2 and one line saying what is wrong. The decision per case
and why is in docs/robustness.md; the expectations below are written from it, not from output.
"""

from __future__ import annotations

import json
import subprocess
import sys
from dataclasses import dataclass
from datetime import date

import pytest

from appvet.errors import InputError
from appvet.model import Review
from appvet.review import review
from tests.conftest import FIXTURES, ROOT

MALFORMED = FIXTURES / "malformed"
ON = date(2025, 1, 1)


@dataclass(frozen=True)
class Refused:
    """Exit 2; the one-line message contains ``says``."""

    says: str


@dataclass(frozen=True)
class Reviewed:
    """Reviewed; ``skip`` is (stage, text in the reason) of a Skip that must be there, ``None`` for no Skip;
    ``oddity`` is text of an AV105 archive-trick finding that must be there."""

    skip: tuple[str, str] | None = None
    oddity: str | None = None
    signers: int | None = None
    trick: tuple[str, str, str] | None = None
    """(rule, entry, text in the detail) of a name or header trick finding that must be there."""


CASES: dict[str, Refused | Reviewed] = {
    # APK Signing Block: a broken block is ignored, as Android's verifier does; the v1 signature then
    # says v2 and v3 were made, so the APK counts as stripped and no signer is reported.
    "sig-block-size-mismatch.apk": Reviewed(skip=("signing", "block size fields differ"), signers=0),
    "sig-block-pair-overruns.apk": Reviewed(skip=("signing", "out of bounds"), signers=0),
    "sig-block-duplicate-v2.apk": Reviewed(signers=1),
    # The stacked block lies in the bytes the real block's content digest covers: Android refuses it.
    "sig-block-stacked.apk": Reviewed(signers=0),
    # Zip structure.
    "duplicate-entry.apk": Reviewed(trick=("AV111", "AndroidManifest.xml", "first one is reviewed")),
    "cr-in-name.apk": Reviewed(),
    "nul-in-name.apk": Refused("NUL byte"),
    "max-eocd-comment.apk": Reviewed(),
    "method-mismatch.apk": Reviewed(trick=("AV113", "classes.dex", "local header says method 0")),
    "unknown-method.apk": Reviewed(oddity="compression method 99"),
    "data-descriptor.apk": Reviewed(),
    "data-descriptor-lies.apk": Reviewed(),
    "overlapping-entries.apk": Reviewed(oddity="shares its data with AndroidManifest.xml"),
    # Names and headers that make tools see other files than Android: findings, never refusals.
    "traversal-names.apk": Reviewed(trick=("AV110", "../assets/config.json", "climbs with '..'")),
    "case-collision.apk": Reviewed(trick=("AV112", "AndroidManifest.xml", "androidmanifest.xml")),
    "local-name-mismatch.apk": Reviewed(trick=("AV113", "assets/notes.txt",
                                               "local header names it 'assets/innocent-looking-name.txt'")),
    "no-manifest.apk": Refused("no AndroidManifest.xml"),
    # Zip bombs: refused before any byte is inflated.
    "zip-bomb-flat.apk": Refused("zip bomb"),
    "zip-bomb-entry.apk": Refused("zip bomb"),
    "zip-bomb-nested.apks": Refused("zip bomb"),
    "zip-bomb-declared.apk": Refused("zip bomb"),
    # Huge declared sizes: the code and the manifest are essential, the resource table is not.
    "dex-huge-string-count.apk": Refused("string_ids table"),
    "dex-huge-file-size.apk": Refused("header says 4294967280 bytes"),
    "axml-huge-string-count.apk": Refused("claims 2147483647 strings"),
    "axml-huge-chunk-size.apk": Reviewed(),
    "arsc-huge-package-count.apk": Reviewed(),
    "arsc-huge-chunk-size.apk": Reviewed(skip=("resources", "bad sizes")),
    # Code and manifest shapes.
    "cyclic-hierarchy.apk": Reviewed(),
    "many-methods.apk": Reviewed(),
    "sdk-codename.apk": Reviewed(),
    "thousands-of-components.apk": Reviewed(),
}


def test_every_corpus_file_has_a_decided_case_and_the_corpus_is_small() -> None:
    on_disk = {p.name for p in MALFORMED.iterdir() if p.is_file()}
    assert on_disk == set(CASES)
    assert sum((MALFORMED / n).stat().st_size for n in on_disk) < 5 * 1024**2


def _check_review(result: Review, case: Reviewed) -> None:
    assert result.app.package == "org.example.plain"
    skips = [(s.stage, s.reason) for s in result.skips]
    if case.skip is None:
        assert skips == []
    else:
        stage, text = case.skip
        assert any(s == stage and text in r for s, r in skips), skips
    tricks = [e.excerpt for f in result.findings if f.rule == "AV105" for e in f.evidence]
    if case.oddity is not None:
        assert any(case.oddity in t for t in tricks), tricks
    if case.signers is not None:
        assert len(result.app.signers) == case.signers
    if case.trick is not None:
        rule, entry, text = case.trick
        found = [(e.file, e.excerpt) for f in result.findings if f.rule == rule for e in f.evidence]
        assert any(file == entry and text in excerpt for file, excerpt in found), found


@pytest.mark.parametrize("name", sorted(CASES))
def test_library_outcome(name: str, kb) -> None:  # type: ignore[no-untyped-def]
    case = CASES[name]
    path = MALFORMED / name
    if isinstance(case, Refused):
        with pytest.raises(InputError) as info:
            review(path, kb=kb, on=ON)
        line = info.value.diagnostics()
        assert case.says in line and "\n" not in line and str(path) in line
        assert info.value.exit_code == 2
    else:
        _check_review(review(path, kb=kb, on=ON), case)


@pytest.mark.parametrize("name", sorted(CASES))
def test_cli_exit_code(name: str) -> None:
    case = CASES[name]
    path = MALFORMED / name
    proc = subprocess.run([sys.executable, "-m", "appvet.cli", "review", str(path), "-f", "json", "-q"],
                          capture_output=True, text=True, cwd=ROOT, timeout=120, check=False)
    if isinstance(case, Refused):
        assert proc.returncode == 2, proc.stderr
        lines = proc.stderr.strip().splitlines()
        assert len(lines) == 1 and case.says in lines[0] and lines[0].startswith("appvet: error: ")
        assert proc.stdout == ""
    else:
        assert proc.returncode == 0, proc.stderr
        doc = json.loads(proc.stdout)
        assert doc["app"]["package"] == "org.example.plain"
        assert bool(doc["skips"]) == (case.skip is not None)


def test_codename_sdk_levels_are_kept_as_written(kb) -> None:  # type: ignore[no-untyped-def]
    result = review(MALFORMED / "sdk-codename.apk", kb=kb, on=ON)
    assert (result.app.min_sdk, result.app.target_sdk) == ("Tiramisu", "UpsideDownCake")


def test_thousands_of_components_are_all_listed(kb) -> None:  # type: ignore[no-untyped-def]
    result = review(MALFORMED / "thousands-of-components.apk", kb=kb, on=ON)
    assert result.manifest is not None and len(result.manifest.components) == 6_001


def test_many_methods_and_cyclic_hierarchy_finish_with_a_call_graph(kb) -> None:  # type: ignore[no-untyped-def]
    from appvet.analyze import facts, reachability
    from appvet.ingest.interface import Budget, Options
    from appvet.ingest.open import open_input

    for name, methods in (("many-methods.apk", 70_000), ("cyclic-hierarchy.apk", 0)):
        gathered = facts.gather(open_input(MALFORMED / name), Options())
        assert gathered.dex[0].dex.method_count >= methods
        reach, skips = reachability.compute(gathered, Budget.start("reachability", 60))
        assert reach is not None and reach.graph.entries, skips


def test_name_tricks_are_findings_and_the_app_is_read_as_android_reads_it(kb) -> None:  # type: ignore[no-untyped-def]
    climb = review(MALFORMED / "traversal-names.apk", kb=kb, on=ON)
    [av110] = [f for f in climb.findings if f.rule == "AV110"]
    assert {e.file for e in av110.evidence} == {"../assets/config.json", "/system/etc/hosts"}
    assert "absolute path" in next(e.excerpt for e in av110.evidence if e.file == "/system/etc/hosts")
    # Android reads assets/ by exact name, so the climbing entry's URL is not an asset of the app.
    assert not any("climb.example.net" in e.value for e in climb.endpoints)
    case = review(MALFORMED / "case-collision.apk", kb=kb, on=ON)
    [av112] = [f for f in case.findings if f.rule == "AV112"]
    assert av112.severity == "medium"
    assert {e.file for e in av112.evidence} == {"AndroidManifest.xml", "classes.dex"}
    assert case.app.dex_files == ("classes.dex",)
    lfh = review(MALFORMED / "local-name-mismatch.apk", kb=kb, on=ON)
    assert [f.severity for f in lfh.findings if f.rule == "AV113"] == ["medium"]
    for clean in ("data-descriptor.apk", "data-descriptor-lies.apk", "cr-in-name.apk"):
        # A data descriptor makes libziparchive skip the size check; so does appvet.
        assert not [f for f in review(MALFORMED / clean, kb=kb, on=ON).findings if f.rule in
                    ("AV110", "AV111", "AV112", "AV113")], clean


def test_traversal_entry_is_reviewed_with_a_finding_not_refused() -> None:
    path = ROOT / "tests" / "fixtures" / "bad" / "traversal.apk"
    proc = subprocess.run([sys.executable, "-m", "appvet.cli", "review", str(path), "-f", "json", "-q"],
                          capture_output=True, text=True, cwd=ROOT, timeout=120, check=False)
    assert proc.returncode == 0, proc.stderr
    doc = json.loads(proc.stdout)
    [av110] = [f for f in doc["findings"] if f["rule"] == "AV110"]
    assert [e["file"] for e in av110["evidence"]] == ["../../evil.txt"]


def test_duplicate_entry_reviews_the_first_manifest(kb) -> None:  # type: ignore[no-untyped-def]
    # The decoy second manifest names org.example.decoy; Android's reader and appvet keep the first.
    assert review(MALFORMED / "duplicate-entry.apk", kb=kb, on=ON).app.package == "org.example.plain"

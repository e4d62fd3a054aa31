"""Attribution on a real-world corpus: signers against apksigner, SDKs against exodus-core, holders of code.

Reviews every APK of a corpus directory with appvet and writes one JSON line per APK, then a
summary. Peers are optional inputs:

- ``--apksigner TSV``: lines ``name<TAB>exit code<TAB>verified schemes<TAB>signer SHA-256`` made
  by running ``apksigner verify --verbose --print-certs`` on each APK; appvet's verified signer
  and schemes are compared with them.
- ``--exodus-python PY``: a Python with exodus-core installed; its ``StaticAnalysis`` runs with
  the Exodus tracker list appvet ships, on the APKs where appvet reports an SDK carrying an
  Exodus id, and each such SDK is counted as confirmed or not by it.

Usage: python bench/attribution.py CORPUS_DIR OUT.jsonl [--apksigner TSV] [--exodus-python PY]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from collections import Counter
from datetime import date
from pathlib import Path
from typing import Any

from appvet import load_kb
from appvet.errors import AppvetError
from appvet.model import FIRST_PARTY
from appvet.review import review

ROOT = Path(__file__).resolve().parents[1]
TRACKERS = ROOT / "src" / "appvet" / "kb" / "data" / "exodus" / "trackers.json"
ON = date(2026, 12, 1)

_EXODUS = """
import json, sys
from types import SimpleNamespace
from exodus_core.analysis.static_analysis import StaticAnalysis
try:
    from loguru import logger
    logger.remove()
except Exception:
    pass
doc = json.load(open(sys.argv[1]))
sigs = [SimpleNamespace(id=int(t), name=r["name"], code_signature=r.get("code_signature", ""),
        network_signature=r.get("network_signature", ""), website="", description="")
        for t, r in doc["trackers"].items()]
for apk in sys.argv[2:]:
    try:
        sa = StaticAnalysis(apk)
        sa.signatures = sigs
        sa.compiled_tracker_signature = None
        sa._compile_signatures()
        found = sorted({int(t.id) for t in sa.detect_trackers()})
        print(json.dumps({"apk": apk, "trackers": found}), flush=True)
    except Exception as exc:
        print(json.dumps({"apk": apk, "error": str(exc)[:200]}), flush=True)
"""


def review_one(path: Path, kb: Any) -> dict[str, Any]:
    t0 = time.perf_counter()
    try:
        r = review(path, kb=kb, on=ON)
    except AppvetError as exc:
        return {"apk": path.name, "error": str(exc).splitlines()[0][:200]}
    code_caps = [c for c in r.capabilities if c.holder_kind in (FIRST_PARTY, "sdk", "library")]
    return {
        "apk": path.name,
        "seconds": round(time.perf_counter() - t0, 2),
        "verified_schemes": list(r.app.verified_schemes),
        "signer": r.app.signers[0].sha256 if r.app.signers else None,
        "developer": r.app.developer[0].entity if r.app.developer else None,
        "signature_findings": [f"{f.rule}:{f.message[:120]}" for f in r.findings if f.rule in ("AV106", "AV107")],
        "sdks": [{"id": s.id, "name": s.name, "exodus_id": (kb.sdks[s.id].exodus_id if s.id in kb.sdks else None),
                  "evidence": [e.locator for e in s.evidence[:3]]} for s in r.sdks],
        "libraries": [lib.id for lib in r.libraries],
        "capabilities": [{"category": c.category, "holder": c.holder, "kind": c.holder_kind,
                          "package": c.holder_package, "confidence": c.confidence, "gated": bool(c.note)}
                         for c in code_caps],
    }


def run_exodus(python: str, apks: list[Path]) -> dict[str, dict[str, Any]]:
    if not apks:
        return {}
    proc = subprocess.run([python, "-c", _EXODUS, str(TRACKERS), *map(str, apks)], capture_output=True,
                          text=True, check=False, timeout=7200)
    out = {}
    for line in proc.stdout.splitlines():
        if line.startswith("{"):
            row = json.loads(line)
            out[Path(row["apk"]).name] = row
    return out


def summarise(rows: list[dict[str, Any]], apksigner: dict[str, tuple[int, set[str], str]],
              exodus: dict[str, dict[str, Any]]) -> dict[str, Any]:
    ok = [r for r in rows if "error" not in r]
    caps = [c for r in ok for c in r["capabilities"]]
    kinds = Counter(c["kind"] for c in caps)
    total = sum(kinds.values()) or 1
    summary: dict[str, Any] = {
        "apks": len(rows), "reviewed": len(ok),
        "capabilities_with_code": sum(kinds.values()),
        "by_holder_kind": dict(kinds),
        "first_party_share": round(kinds[FIRST_PARTY] / total, 3),
        # What the same review reported as first party before libraries had their own holder.
        "first_party_share_if_libraries_were_first_party": round((kinds[FIRST_PARTY] + kinds["library"]) / total, 3),
        "reachable_downgraded_for_missing_permission": sum(1 for c in caps if c["gated"]),
        "top_first_party_packages": Counter(c["package"] for c in caps if c["kind"] == FIRST_PARTY).most_common(25),
        "libraries": Counter(lib for r in ok for lib in r["libraries"]).most_common(),
        "sdk_hits": sum(len(r["sdks"]) for r in ok),
    }
    if apksigner:
        agree = disagree = 0
        diffs = []
        for r in ok:
            peer = apksigner.get(r["apk"])
            if peer is None:
                continue
            rc, schemes, cert = peer
            ours_ok = bool(r["verified_schemes"])
            theirs_ok = rc == 0
            same = ours_ok == theirs_ok and (not ours_ok or (r["signer"] == cert))
            if same:
                agree += 1
            else:
                disagree += 1
                diffs.append({"apk": r["apk"], "appvet": [r["verified_schemes"], r["signer"]],
                              "apksigner": [rc, sorted(schemes), cert], "findings": r["signature_findings"]})
        summary["signers_vs_apksigner"] = {"agree": agree, "disagree": disagree, "differences": diffs}
    if exodus:
        confirmed = rejected = 0
        rejected_list = []
        no_id = 0
        for r in ok:
            ex = exodus.get(r["apk"])
            for s in r["sdks"]:
                if s["exodus_id"] is None:
                    no_id += 1
                    continue
                if ex is None or "trackers" not in ex:
                    continue
                if s["exodus_id"] in ex["trackers"]:
                    confirmed += 1
                else:
                    rejected += 1
                    rejected_list.append({"apk": r["apk"], "sdk": s["id"], "evidence": s["evidence"]})
        summary["sdks_vs_exodus"] = {"confirmed": confirmed, "not_found_by_exodus": rejected,
                                     "without_exodus_id": no_id, "not_found": rejected_list}
    return summary


def main(argv: list[str]) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("corpus", type=Path)
    p.add_argument("out", type=Path)
    p.add_argument("--apksigner", type=Path)
    p.add_argument("--exodus-python")
    p.add_argument("--reuse", action="store_true", help="read appvet rows from OUT instead of reviewing again")
    args = p.parse_args(argv)
    kb = load_kb()
    apks = sorted(args.corpus.glob("*.apk"))
    if args.reuse:
        rows = [json.loads(line) for line in args.out.read_text().splitlines() if line.startswith("{")]
    else:
        rows = []
        with args.out.open("w") as fh:
            for apk in apks:
                row = review_one(apk, kb)
                rows.append(row)
                fh.write(json.dumps(row) + "\n")
                fh.flush()
    apksigner: dict[str, tuple[int, set[str], str]] = {}
    if args.apksigner:
        for line in args.apksigner.read_text().splitlines():
            name, rc, schemes, cert = [*line.split("\t"), "", "", ""][:4]
            apksigner[name] = (int(rc), {s for s in schemes.split(",") if s}, cert)
    exodus: dict[str, dict[str, Any]] = {}
    if args.exodus_python:
        wanted = [args.corpus / r["apk"] for r in rows
                  if "error" not in r and any(s["exodus_id"] for s in r["sdks"])]
        exodus = run_exodus(args.exodus_python, wanted)
    json.dump(summarise(rows, apksigner, exodus), sys.stdout, indent=1)
    sys.stdout.write("\n")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

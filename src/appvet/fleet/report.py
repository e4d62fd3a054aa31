"""Questions asked of a fleet store, answered from the newest review of each app.

    summary(engine, top=20) -> dict     verdicts, top SDKs, data transfers by country, ban-list hits, failures
    tables(engine) -> dict[str, list[dict]]   the same plus flat per-app rows, for export
    export(engine, fmt, out) -> list[Path]    one CSV / Parquet file per table, or one JSON file

Where data can go: for each capability of an app, the countries are those of the holder's control
(an SDK's jurisdictions, from its ownership chain) and the owner countries of the endpoints the
same holder's code names. That is what the app *can* do by its code, not an observed transfer.
"""

from __future__ import annotations

import csv
import importlib.util
import json
from collections import Counter, defaultdict
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, func, select

from appvet.errors import UsageError
from appvet.fleet.store import apps, failures, latest_reviews, reviews
from appvet.model import FIRST_PARTY
from appvet.report.plain import clean

FORMATS = ("json", "csv", "parquet")
TABLES = ("apps", "sdk_hits", "capabilities", "endpoints", "findings", "bans", "transfers")
COLUMNS: dict[str, tuple[str, ...]] = {
    "apps": ("sha256", "app", "package", "version_name", "label", "size", "decision", "policy", "kb", "review_date"),
    "sdk_hits": ("sha256", "app", "sdk", "name", "owner", "owner_country", "jurisdictions"),
    "capabilities": ("sha256", "app", "category", "holder", "confidence"),
    "endpoints": ("sha256", "app", "host", "domain", "owner", "owner_country", "holder"),
    "findings": ("sha256", "app", "rule", "severity", "category", "sdk", "fingerprint"),
    "bans": ("sha256", "app", "list", "name", "jurisdiction", "status"),
    "transfers": ("sha256", "app", "category", "country", "holder", "via"),
    "failures": ("sha256", "path", "kind", "message"),
    "verdicts": ("decision", "apps"),
    "top_sdks": ("sdk", "name", "owner", "owner_country", "jurisdictions", "apps", "prevalence"),
    "countries": ("country", "category", "apps"),
}
"""The columns of each exported table: a CSV file always starts with its header, even with no rows."""
_FORMULA = ("=", "+", "-", "@")


def csv_cell(value: Any) -> Any:
    """A value for a CSV cell: control characters made visible, and text that a spreadsheet would run as
    a formula (``=``, ``+``, ``-``, ``@``) kept as text with a leading apostrophe. Numbers stay numbers."""
    if not isinstance(value, str):
        return value
    text = clean(value)
    return "'" + text if text.startswith(_FORMULA) else text


def _latest(engine: Engine) -> list[tuple[str, dict[str, Any]]]:
    with engine.connect() as conn:
        return [(sha, json.loads(text)) for _rid, sha, text in latest_reviews(conn)]


def _app_name(sha: str, data: dict[str, Any]) -> str:
    return data["app"].get("package") or data["app"].get("file_name") or sha[:12]


def _open_failures(engine: Engine) -> list[dict[str, Any]]:
    """The newest failure of every file that has no review at all."""
    with engine.connect() as conn:
        reviewed = {r[0] for r in conn.execute(select(apps.c.sha256).join(reviews, reviews.c.app_id == apps.c.id))}
        newest = select(failures.c.sha256, func.max(failures.c.id).label("fid")).group_by(failures.c.sha256).subquery()
        rows = conn.execute(select(failures).join(newest, newest.c.fid == failures.c.id).order_by(failures.c.path))
        return [{"sha256": r.sha256, "path": r.path, "kind": r.kind, "message": r.message}
                for r in rows if r.sha256 not in reviewed]


def transfers(sha: str, data: dict[str, Any]) -> list[dict[str, Any]]:
    """(app, category, country, holder, via) rows: which data this app's code can send to which country."""
    name = _app_name(sha, data)
    sdk_countries = {s["id"]: set(s.get("jurisdictions") or ()) for s in data.get("sdks", ())}
    endpoint_countries: dict[str, set[str]] = defaultdict(set)
    for e in data.get("endpoints", ()):
        if e.get("owner_country"):
            endpoint_countries[e.get("holder") or FIRST_PARTY].add(e["owner_country"])
    rows: set[tuple[str, str, str, str]] = set()
    for c in data.get("capabilities", ()):
        holder = c["holder"]
        for country in sdk_countries.get(holder, ()):
            rows.add((c["category"], country, holder, "control"))
        for country in endpoint_countries.get(holder, ()):
            rows.add((c["category"], country, holder, "endpoint"))
    return [{"sha256": sha, "app": name, "category": cat, "country": cc, "holder": h, "via": via}
            for cat, cc, h, via in sorted(rows)]


def tables(engine: Engine) -> dict[str, list[dict[str, Any]]]:
    """Every table of the report, as rows of plain values."""
    latest = _latest(engine)
    out: dict[str, list[dict[str, Any]]] = {name: [] for name in TABLES}
    for sha, data in latest:
        name = _app_name(sha, data)
        verdict = data.get("verdict") or {}
        a = data["app"]
        out["apps"].append({"sha256": sha, "app": name, "package": a.get("package"),
                            "version_name": a.get("version_name"), "label": a.get("label"), "size": a.get("size"),
                            "decision": verdict.get("decision", "none"), "policy": verdict.get("policy", ""),
                            "kb": data["versions"].get("kb"), "review_date": data.get("review_date")})
        for s in data.get("sdks", ()):
            owner = (s.get("owner_chain") or [{}])[0]
            out["sdk_hits"].append({"sha256": sha, "app": name, "sdk": s["id"], "name": s["name"],
                                    "owner": owner.get("name"), "owner_country": owner.get("country"),
                                    "jurisdictions": ",".join(s.get("jurisdictions") or ())})
        for c in data.get("capabilities", ()):
            out["capabilities"].append({"sha256": sha, "app": name, "category": c["category"], "holder": c["holder"],
                                        "confidence": c["confidence"]})
        for e in data.get("endpoints", ()):
            out["endpoints"].append({"sha256": sha, "app": name, "host": e["host"], "domain": e.get("domain"),
                                     "owner": e.get("owner"), "owner_country": e.get("owner_country"),
                                     "holder": e.get("holder")})
        for f in data.get("findings", ()):
            out["findings"].append({"sha256": sha, "app": name, "rule": f["rule"], "severity": f["severity"],
                                    "category": f.get("category"), "sdk": f.get("sdk"),
                                    "fingerprint": f["fingerprint"]})
        for b in data.get("bans", ()):
            out["bans"].append({"sha256": sha, "app": name, "list": b["list"], "name": b["name"],
                                "jurisdiction": b["jurisdiction"], "status": b["status"]})
        out["transfers"].extend(transfers(sha, data))
    out["failures"] = _open_failures(engine)
    summ = _summarise(out, len(latest))
    out["verdicts"] = [{"decision": k, "apps": v} for k, v in summ["verdicts"].items()]
    out["top_sdks"] = summ["top_sdks"]
    out["countries"] = summ["countries"]
    return out


def _summarise(t: dict[str, list[dict[str, Any]]], n_apps: int, top: int | None = None) -> dict[str, Any]:
    verdicts = Counter(a["decision"] for a in t["apps"])
    sdk_apps: dict[str, set[str]] = defaultdict(set)
    sdk_info: dict[str, dict[str, Any]] = {}
    for row in t["sdk_hits"]:
        sdk_apps[row["sdk"]].add(row["sha256"])
        sdk_info[row["sdk"]] = row
    ranked = sorted(sdk_apps, key=lambda s: (-len(sdk_apps[s]), s))
    top_sdks = [{"sdk": s, "name": sdk_info[s]["name"], "owner": sdk_info[s]["owner"],
                 "owner_country": sdk_info[s]["owner_country"], "jurisdictions": sdk_info[s]["jurisdictions"],
                 "apps": len(sdk_apps[s]), "prevalence": round(len(sdk_apps[s]) / n_apps, 4) if n_apps else 0.0}
                for s in (ranked[:top] if top else ranked)]
    by_country: dict[tuple[str, str], set[str]] = defaultdict(set)
    for row in t["transfers"]:
        by_country[(row["country"], row["category"])].add(row["sha256"])
    countries = [{"country": cc, "category": cat, "apps": len(shas)}
                 for (cc, cat), shas in sorted(by_country.items())]
    return {"verdicts": dict(sorted(verdicts.items())), "top_sdks": top_sdks, "countries": countries}


def summary(engine: Engine, top: int = 20) -> dict[str, Any]:
    """The fleet at a glance (JSON-able)."""
    t = tables(engine)
    s = _summarise(t, len(t.get("apps", [])), top)
    return {
        "apps": len(t.get("apps", [])),
        "verdicts": s["verdicts"],
        "failures": dict(sorted(Counter(f["kind"] for f in t["failures"]).items())),
        "top_sdks": s["top_sdks"],
        "countries": s["countries"],
        "transfers": t.get("transfers", []),
        "bans": t.get("bans", []),
        "failed": t["failures"],
    }


def export(engine: Engine, fmt: str, out: Path, inputs: tuple[Path, ...] = ()) -> list[Path]:
    """Write the report tables for notebooks: ``json`` to the file ``out``; ``csv``/``parquet`` into folder ``out``.

    ``inputs`` (the store's database file) are never overwritten."""
    if fmt not in FORMATS:
        raise UsageError(f"unknown export format {fmt!r} (one of {', '.join(FORMATS)})")
    t = tables(engine)
    if fmt == "json":
        from appvet.report.output import write_report

        write_report(out, json.dumps(t, indent=2, sort_keys=True, ensure_ascii=False) + "\n", inputs)
        return [out]
    if fmt == "parquet" and importlib.util.find_spec("pyarrow") is None:
        raise UsageError("parquet export needs pyarrow: pip install 'appvet[fleet-parquet]'")
    try:
        return _write_tables(t, fmt, out)
    except OSError as exc:
        raise UsageError(f"cannot write the export: {exc.strerror or exc}", file=str(exc.filename or out)) from None


def _write_tables(t: dict[str, list[dict[str, Any]]], fmt: str, out: Path) -> list[Path]:
    if out.exists() and not out.is_dir():
        raise UsageError(f"--format {fmt} writes one file per table into a folder; this is a file", file=str(out))
    if fmt == "parquet":
        import pyarrow as pa
        import pyarrow.parquet as pq
    out.mkdir(parents=True, exist_ok=True)
    written = []
    for name, rows in sorted(t.items()):
        path = out / f"{name}.{fmt}"
        columns = list(COLUMNS.get(name, ()))
        columns += [k for k in dict.fromkeys(k for row in rows for k in row) if k not in columns]
        if fmt == "csv":
            with path.open("w", newline="", encoding="utf-8") as fh:
                writer = csv.DictWriter(fh, fieldnames=columns)
                writer.writeheader()
                writer.writerows({k: csv_cell(v) for k, v in row.items()} for row in rows)
        elif rows:
            pq.write_table(pa.Table.from_pylist(rows), path)
        else:
            pq.write_table(pa.table({c: pa.array([], pa.string()) for c in columns}), path)
        written.append(path)
    return written

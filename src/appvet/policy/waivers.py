"""Waivers: findings a named person accepted, for a reason, until a date.

A waivers file (YAML or JSON, ``schema/waivers.schema.json``)::

    waivers:
      - fingerprint: 3f1c0d9a2b4e5f60      # one finding, or
        rule: FA002                        # every finding of a rule,
        sdk: pangle                        #   optionally only for one SDK
        package: com.example.app           # optionally only for one app
        reason: Contract with the vendor forbids data collection; audit 2026-03.
        approver: security@example.com
        expires: 2027-01-01                # first day on which it no longer applies

An expired waiver stops applying and is reported, so an acceptance cannot outlive its review.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path

from appvet.policy.interface import PolicyError, Waiver
from appvet.policy.loader import MAX_POLICY_BYTES, check_schema, parse_yaml


def load_waivers(path: str | Path) -> tuple[Waiver, ...]:
    label = str(path)
    try:
        if Path(path).stat().st_size > MAX_POLICY_BYTES:
            raise PolicyError(f"larger than {MAX_POLICY_BYTES} bytes", file=label)
        data = Path(path).read_bytes()
    except OSError as exc:
        raise PolicyError(f"cannot read: {exc.strerror or exc}", file=label) from None
    return parse_waivers(data, label)


def parse_waivers(data: bytes, label: str = "<waivers>") -> tuple[Waiver, ...]:
    doc = parse_yaml(data, label)
    if isinstance(doc, dict) and isinstance(doc.get("waivers"), list):
        # YAML reads an unquoted 2027-01-01 as a date; the schema speaks of strings.
        for row in doc["waivers"]:
            if isinstance(row, dict) and isinstance(row.get("expires"), date):
                row["expires"] = row["expires"].isoformat()
    check_schema(doc, "waivers.schema.json", label)
    out = []
    for index, row in enumerate(doc["waivers"]):
        try:
            expires = date.fromisoformat(row["expires"])
        except ValueError:
            raise PolicyError(f"waivers[{index}]: expires {row['expires']!r} is not a date", file=label) from None
        out.append(Waiver(
            reason=row["reason"], approver=row["approver"], expires=expires, fingerprint=row.get("fingerprint"),
            rule=row.get("rule"), sdk=row.get("sdk"), package=row.get("package"),
        ))
    return tuple(out)

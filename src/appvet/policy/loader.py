"""Read a policy file (or a shipped policy by name): YAML -> JSON Schema check -> compiled :class:`Policy`.

Every problem -- unreadable file, YAML syntax, schema violation, unknown field for a subject,
duplicate rule id -- raises :class:`PolicyError` with one line naming the file and the place.
"""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path
from typing import Any

from appvet.policy.interface import LegalBasis, Policy, PolicyError, Rule
from appvet.policy.language import compile_condition

HERE = Path(__file__).resolve().parent
SHIPPED_DIR = HERE / "policies"
SCHEMA_DIR = HERE / "schema"
MAX_POLICY_BYTES = 1024 * 1024
"""A policy is a page of rules; anything larger is refused before parsing."""
MAX_YAML_EVENTS = 200_000
DOCS_BASE = "docs/policies.md"


def shipped_policies() -> list[str]:
    """Names of the policies packaged with appvet."""
    return sorted(p.stem for p in SHIPPED_DIR.glob("*.yaml"))


@cache
def _validator(name: str) -> Any:
    from jsonschema import Draft202012Validator

    schema = json.loads((SCHEMA_DIR / name).read_text(encoding="utf-8"))
    return Draft202012Validator(schema)


def parse_yaml(data: bytes, label: str) -> Any:
    """YAML (or JSON, a subset) to plain data; any parse failure is a :class:`PolicyError`.

    Aliases are refused (a few lines could expand into an exponential tree that schema validation
    would walk), and size and nesting are bounded before the text is parsed.
    """
    from appvet.safeyaml import YamlRefused, load

    try:
        return load(data, MAX_POLICY_BYTES, MAX_YAML_EVENTS)
    except YamlRefused as exc:
        raise PolicyError(str(exc), file=label) from None


def check_schema(doc: Any, schema: str, label: str) -> None:
    """First schema violation (in a stable order) as a one-line error."""
    try:
        errors = sorted(_validator(schema).iter_errors(doc), key=lambda e: (list(map(str, e.absolute_path)), e.message))
    except RecursionError:
        raise PolicyError("nested too deeply", file=label) from None
    if errors:
        err = errors[0]
        where = "/".join(str(p) for p in err.absolute_path) or "(top level)"
        message = err.message if len(err.message) <= 200 else err.message[:197] + "..."
        raise PolicyError(f"at {where}: {message}", file=label)


def load_policy(name_or_path: str | Path) -> Policy:
    """A shipped policy by name (``default``, ``us-foreign-adversary`` ...) or a policy file by path."""
    text = str(name_or_path)
    path = Path(text)
    if path.suffix not in (".yaml", ".yml", ".json") and "/" not in text and "\\" not in text:
        candidate = SHIPPED_DIR / f"{text}.yaml"
        if not candidate.is_file():
            raise PolicyError(f"no shipped policy {text!r} (shipped: {', '.join(shipped_policies())})")
        path, label = candidate, f"appvet/policy/policies/{candidate.name}"
    else:
        label = text
    try:
        if path.stat().st_size > MAX_POLICY_BYTES:
            raise PolicyError(f"larger than {MAX_POLICY_BYTES} bytes", file=label)
        data = path.read_bytes()
    except OSError as exc:
        raise PolicyError(f"cannot read: {exc.strerror or exc}", file=label) from None
    return parse_policy(data, label)


def parse_policy(data: bytes, label: str = "<policy>") -> Policy:
    """Compile policy text; the only entry point that turns untrusted bytes into a :class:`Policy`."""
    doc = parse_yaml(data, label)
    check_schema(doc, "policy.schema.json", label)
    return build_policy(doc, label)


def build_policy(doc: dict[str, Any], label: str) -> Policy:
    rules: list[Rule] = []
    seen: set[str] = set()
    for index, raw in enumerate(doc["rules"]):
        rid = raw["id"]
        if rid in seen:
            raise PolicyError(f"rules[{index}]: duplicate rule id {rid!r}", file=label)
        seen.add(rid)
        try:
            when = compile_condition(raw["when"], raw["subject"], where=f"rules[{index}] ({rid}).when")
        except PolicyError as exc:
            raise PolicyError(exc.message, file=label) from None
        rules.append(Rule(
            id=rid,
            title=raw["title"],
            subject=raw["subject"],
            when=when,
            action=raw["action"],
            severity=raw["severity"],
            masvs=tuple(raw.get("masvs", ())),
            description=raw.get("description", ""),
            condition_text=json.dumps(raw["when"], sort_keys=True, separators=(",", ":")),
        ))
    lists = {name: frozenset(codes) for name, codes in doc.get("lists", {}).items()}
    return Policy(
        name=doc["policy"],
        title=doc["title"],
        version=doc["version"],
        rules=tuple(rules),
        legal_basis=tuple(
            LegalBasis(citation=b["citation"], title=b.get("title", ""), url=b.get("url", ""))
            for b in doc.get("legal_basis", ())
        ),
        lists=lists,
        source=label,
        doc=doc.get("doc", f"{DOCS_BASE}#{doc['policy']}"),
    )

"""JSON Schema of the review report, derived from the data model so the two cannot drift apart.

The committed copy (``src/appvet/report/review.schema.json``) is checked against this derivation
by the tests; regenerate it with ``python -m appvet.report.schema > src/appvet/report/review.schema.json``.
"""

from __future__ import annotations

import dataclasses
import json
import types
import typing
from importlib import resources
from typing import Any

from appvet import model


def _type_schema(tp: Any, defs: dict[str, Any]) -> dict[str, Any]:
    origin = typing.get_origin(tp)
    args = typing.get_args(tp)
    if tp is str:
        return {"type": "string"}
    if tp is bool:
        return {"type": "boolean"}
    if tp is int:
        return {"type": "integer"}
    if tp is float:
        return {"type": "number"}
    if origin is typing.Literal:
        return {"enum": list(args)}
    if origin in (typing.Union, types.UnionType):
        return {"anyOf": [_type_schema(a, defs) for a in args]}
    if tp is type(None):
        return {"type": "null"}
    if origin is tuple:
        if len(args) == 2 and args[1] is Ellipsis:
            return {"type": "array", "items": _type_schema(args[0], defs)}
        return {"type": "array", "prefixItems": [_type_schema(a, defs) for a in args],
                "minItems": len(args), "maxItems": len(args)}
    if origin is dict:
        return {"type": "object", "additionalProperties": _type_schema(args[1], defs)}
    if dataclasses.is_dataclass(tp):
        name = tp.__name__
        if name not in defs:
            defs[name] = {}  # placeholder against recursion
            hints = typing.get_type_hints(tp)
            props = {f.name: _type_schema(hints[f.name], defs) for f in dataclasses.fields(tp)}
            required = [f.name for f in dataclasses.fields(tp)
                        if f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING]
            defs[name] = {"type": "object", "properties": props, "required": required,
                          "additionalProperties": False}
            if tp.__doc__:
                defs[name]["description"] = " ".join(tp.__doc__.split())
        return {"$ref": f"#/$defs/{name}"}
    raise TypeError(f"no JSON schema for {tp!r}")


def review_schema() -> dict[str, Any]:
    model._resolve_late_types()
    defs: dict[str, Any] = {}
    root = _type_schema(model.Review, defs)
    schema = {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": f"https://appvet.invalid/schema/review-{model.SCHEMA_VERSION}.json",
        "title": "appvet review report",
        "$defs": defs,
        **root,
    }
    # The JSON report omits timings (they would make equal inputs give different bytes).
    review_def = dict(defs["Review"])
    review_def["required"] = [r for r in review_def["required"] if r != "timings"]
    defs["Review"] = review_def
    return schema


def packaged_schema() -> dict[str, Any]:
    return json.loads(resources.files("appvet.report").joinpath("review.schema.json").read_text("utf-8"))


if __name__ == "__main__":
    print(json.dumps(review_schema(), indent=2, sort_keys=True))

"""Baselines: an earlier review's JSON report, so that only what is new counts."""

from __future__ import annotations

import json
from pathlib import Path

from appvet.model import Review, from_dict
from appvet.policy.interface import PolicyError

MAX_BASELINE_BYTES = 256 * 1024 * 1024


def load_baseline(path: str | Path) -> Review:
    """Read a review written by ``appvet --format json``; anything else is a :class:`PolicyError`."""
    label = str(path)
    try:
        if Path(path).stat().st_size > MAX_BASELINE_BYTES:
            raise PolicyError(f"larger than {MAX_BASELINE_BYTES} bytes", file=label)
        data = Path(path).read_bytes()
    except OSError as exc:
        raise PolicyError(f"cannot read: {exc.strerror or exc}", file=label) from None
    return parse_baseline(data, label)


def parse_baseline(data: bytes, label: str = "<baseline>") -> Review:
    try:
        doc = json.loads(data)
    except (ValueError, UnicodeDecodeError, RecursionError) as exc:
        raise PolicyError(f"not a JSON review: {exc}", file=label) from None
    if not isinstance(doc, dict) or not isinstance(doc.get("app"), dict) or "findings" not in doc:
        raise PolicyError("not an appvet review (expected an object with 'app' and 'findings')", file=label)
    try:
        return from_dict(doc)
    except (TypeError, KeyError, ValueError, AttributeError) as exc:
        raise PolicyError(f"not an appvet review: {exc}", file=label) from None

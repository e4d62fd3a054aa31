"""How big a review may get: every list and every text in it is bounded, and what was cut is said.

    cap_review(review, limits=ReviewLimits()) -> Review

A small crafted APK can name twenty thousand components with one 50 KB name each, or hold a
million distinct URLs; written out in full such a review is a gigabyte of JSON and every report
built from it is as big. ``cap_review`` walks the finished review once, in field order, and keeps

- at most ``items`` entries of any list at the top of the review (``nested_items`` inside an entry),
- at most ``text`` characters of any string (longer ones end in ``…``),
- at most ``total_text`` characters of text in the whole review; past it lists stop growing,

adding one ``Skip`` (stage ``bounds``) for each list that was cut and one for truncated texts. A
review within the bounds is returned unchanged, so ordinary apps get identical reports.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

from appvet.model import Review, Skip


@dataclass(frozen=True)
class ReviewLimits:
    items: int = 20_000
    nested_items: int = 500
    text: int = 2_048
    total_text: int = 12_000_000


class _Walk:
    def __init__(self, limits: ReviewLimits) -> None:
        self.limits = limits
        self.used = 0
        self.cut_lists: list[tuple[str, int, int]] = []
        self.cut_texts = 0
        self.first_text: str | None = None

    def value(self, v: Any, where: str, depth: int) -> Any:
        if isinstance(v, str):
            if len(v) > self.limits.text:
                self.cut_texts += 1
                self.first_text = self.first_text or where
                v = v[: self.limits.text - 1] + "…"
            self.used += len(v)
            return v
        if isinstance(v, tuple):
            return self.items(v, where, depth)
        if isinstance(v, dict):
            return {k: self.value(x, f"{where}.{k}", depth + 1) for k, x in v.items()}
        if dataclasses.is_dataclass(v) and not isinstance(v, type):
            return self.obj(v, where, depth)
        self.used += 1
        return v

    def items(self, seq: tuple[Any, ...], where: str, depth: int) -> tuple[Any, ...]:
        cap = self.limits.items if depth <= 1 else self.limits.nested_items
        kept = []
        for i, item in enumerate(seq):
            if i >= cap or self.used >= self.limits.total_text:
                break
            kept.append(self.value(item, f"{where}[{i}]", depth + 1))
        if len(kept) < len(seq):
            self.cut_lists.append((where, len(kept), len(seq)))
        if len(kept) == len(seq) and all(a is b for a, b in zip(kept, seq, strict=True)):
            return seq
        return tuple(kept)

    def obj(self, o: Any, where: str, depth: int) -> Any:
        changes = {}
        for f in dataclasses.fields(o):
            if f.name == "timings":
                continue
            old = getattr(o, f.name)
            new = self.value(old, f"{where}.{f.name}" if where else f.name, depth)
            if new is not old:
                changes[f.name] = new
        return dataclasses.replace(o, **changes) if changes else o


def cap_review(review: Review, limits: ReviewLimits | None = None) -> Review:
    """The review with every list and text within ``limits``; a Skip for each thing cut."""
    walk = _Walk(limits or ReviewLimits())
    # Skips are written last and kept whole, so that what was cut is always said.
    capped = walk.obj(dataclasses.replace(review, skips=()), "", 0)
    notes = [Skip(locator=where, stage="bounds",
                  reason=f"kept {kept} of {total} entries: the review's size bound "
                         f"({_plural(total - kept, 'entry', 'entries')} left out)")
             for where, kept, total in walk.cut_lists]
    if walk.cut_texts:
        notes.append(Skip(locator=walk.first_text or "", stage="bounds",
                          reason=f"{_plural(walk.cut_texts, 'text', 'texts')} longer than {walk.limits.text} "
                                 "characters shortened to that length"))
    if len(review.skips) > walk.limits.items:
        notes.append(Skip(locator="skips", stage="bounds",
                          reason=f"kept {walk.limits.items} of {len(review.skips)} entries: the review's size bound"))
    if not notes:
        return review
    skips = review.skips[: walk.limits.items] + tuple(notes)
    return dataclasses.replace(capped, skips=skips)


def _plural(n: int, one: str, many: str) -> str:
    return f"{n} {one if n == 1 else many}"

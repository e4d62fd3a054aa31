"""A knowledge base with the country and ban lists the shipped policies name.

Ban lists are replaced by the test's own, so a test can put a fixture app on a list.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from appvet.kb import load_kb
from appvet.kb.model import BanList

BUILT = Path(__file__).resolve().parents[1] / "fixtures" / "built"

def ban_list(**fields: Any) -> BanList:
    """A ban list for a test, with the fields a test does not care about filled in."""
    fields.setdefault("authority", "test authority")
    fields.setdefault("sources", ())
    return BanList(**fields)


class ListsKb:
    """The real knowledge base with the test's ban lists in place of the packaged ones."""

    def __init__(self, kb: Any, country_lists: dict[str, Any], ban_lists: dict[str, Any]) -> None:
        self._kb = kb
        self.country_lists = {**(getattr(kb, "country_lists", None) or {}), **country_lists}
        self.ban_lists = ban_lists

    def __getattr__(self, name: str) -> Any:
        return getattr(self._kb, name)


def lists_kb(ban_lists: dict[str, Any] | None = None) -> ListsKb:
    return ListsKb(load_kb(), {}, dict(ban_lists or {}))

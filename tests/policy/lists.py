"""A knowledge base with the country and ban lists the shipped policies name.

Ban lists are replaced by the test's own, so a test can put a fixture app on a list.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from appvet.kb import load_kb
from appvet.kb.model import BanEvent, BanList, EventSource

BUILT = Path(__file__).resolve().parents[1] / "fixtures" / "built"

_SRC = (EventSource("https://example.org/order", "2020-01-01", primary=True),)


def ban_list(**fields: Any) -> BanList:
    """A ban list for a test, with the fields a test does not care about filled in.

    ``date``, ``effective`` and ``revoked`` become the list's order, effective and revocation events.
    """
    fields.setdefault("authority", "test authority")
    fields.setdefault("sources", ())
    if "events" not in fields:
        title = fields.get("instrument", "test order")
        events = [BanEvent(fields.pop("date"), "order", title, _SRC)]
        if fields.get("effective"):
            events.append(BanEvent(fields.pop("effective"), "effective", title, _SRC))
        fields.pop("effective", None)
        if fields.get("revoked"):
            events.append(
                BanEvent(fields.pop("revoked"), "revocation", fields.pop("revoked_by", "revoking order"), _SRC)
            )
        fields.pop("revoked", None)
        fields.pop("revoked_by", None)
        fields["events"] = tuple(events)
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

"""aapt2's protobuf resource table (``ResourceTable`` of ``Resources.proto``), as in ``base/resources.pb``.

Gives the same answers as ``arsc.ResourceTable``: the strings of the table (for endpoint scanning),
a resource's value as text (for ``@string/app_name``-style manifest values) and its name.

Field numbers (aapt2 ``Resources.proto``): ResourceTable{package=2}; Package{package_id=1,
package_name=2, type=3}; Type{type_id=1, name=2, entry=3}; Entry{entry_id=1, name=2,
config_value=6}; ConfigValue{config=1, value=2}; Value{item=4, compound_value=5}. The ids are
``PackageId``/``TypeId``/``EntryId`` messages (``id=1``) in current aapt2; a bare varint, as
older aapt2 wrote, is accepted too. The first published schema kept an entry's values in field 4
(now ``allow_new``); such tables give names but no values here.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from appvet.android import protowire as pw
from appvet.android.arsc import MAX_REFERENCE_HOPS, ResourceTable
from appvet.android.protoxml import item_value
from appvet.errors import FormatError


def looks_like_proto_table(data: bytes | memoryview) -> bool:
    """True for a ``ResourceTable`` message, false for a binary ``resources.arsc`` (type 0x0002)."""
    head = bytes(data[:4])
    return len(head) == 4 and head[0] in (0x0A, 0x12, 0x1A, 0x22, 0x2A) and head[2:4] != b"\x0c\x00"


@dataclass(frozen=True)
class _Value:
    default: bool
    item: memoryview | None
    """The ``Item`` of a simple value; ``None`` for a compound one (style, array, plural ...)."""


def _id(value: int | memoryview, name: str) -> int:
    if isinstance(value, int):
        return value
    for number, _wire, inner in pw.fields(value, name):
        if number == 1:
            return pw.number(inner, name)
    return 0


class ProtoResourceTable(ResourceTable):
    """A protobuf resource table, indexed by resource id."""

    def __init__(self, name: str, packages: dict[int, str], values: dict[int, list[_Value]],
                 names: dict[int, str], strings: list[str]) -> None:
        super().__init__(b"", name, None, {})
        self._names_by_package = packages
        self._values = values
        self._entry_names = names
        self._strings = strings

    @property
    def package_names(self) -> tuple[str, ...]:
        return tuple(self._names_by_package[k] for k in sorted(self._names_by_package))

    def strings(self) -> Iterator[str]:
        yield from self._strings

    def resolve(self, ref: int) -> str | None:
        seen: set[int] = set()
        for _ in range(MAX_REFERENCE_HOPS):
            if ref in seen:
                return None
            seen.add(ref)
            item = self._item(ref)
            if item is None:
                return None
            try:
                value = item_value(item, self._name)
            except FormatError:
                return None
            if isinstance(value, str) and value.startswith("@0x"):
                ref = int(value[3:], 16)
                continue
            if isinstance(value, bool):
                return "true" if value else "false"
            return None if value is None or (isinstance(value, str) and value.startswith("?0x")) else str(value)
        return None

    def value(self, ref: int) -> tuple[int, int] | None:
        # Protobuf values carry no Res_value pair; callers use ``resolve``.
        return None

    def name(self, ref: int) -> str | None:
        return self._entry_names.get(ref)

    def _item(self, ref: int) -> memoryview | None:
        values = self._values.get(ref)
        if not values:
            return None
        chosen = next((v for v in values if v.default), values[0])
        return chosen.item


def parse_resources_pb(data: bytes | memoryview, name: str = "resources.pb") -> ProtoResourceTable:
    """Index a protobuf resource table; ``FormatError`` if it is malformed."""
    view = memoryview(bytes(data))
    packages: dict[int, str] = {}
    values: dict[int, list[_Value]] = {}
    names: dict[int, str] = {}
    strings: list[str] = []
    for number, _wire, package in pw.fields(view, name):
        if number != 2:
            continue
        package_id, package_name, types = 0, "", []
        for pn, _pkw, pv in pw.fields(pw.message(package, name), name):
            if pn == 1:
                package_id = _id(pv, name) & 0xFF
            elif pn == 2:
                package_name = pw.text(pv, name)
            elif pn == 3:
                types.append(pw.message(pv, name))
        packages.setdefault(package_id, package_name)
        for type_ in types:
            _read_type(type_, package_id, name, values, names, strings)
    return ProtoResourceTable(name, packages, values, names, strings)


def _read_type(type_: memoryview, package_id: int, name: str, values: dict[int, list[_Value]],
               names: dict[int, str], strings: list[str]) -> None:
    type_id, type_name, entries = 0, "", []
    for tn, _tw, tv in pw.fields(type_, name):
        if tn == 1:
            type_id = _id(tv, name) & 0xFF
        elif tn == 2:
            type_name = pw.text(tv, name)
        elif tn == 3:
            entries.append(pw.message(tv, name))
    for entry in entries:
        entry_id, entry_name, configs = 0, "", []
        for en, _ew, ev in pw.fields(entry, name):
            if en == 1:
                entry_id = _id(ev, name) & 0xFFFF
            elif en == 2:
                entry_name = pw.text(ev, name)
            elif en == 6:
                configs.append(pw.message(ev, name))
        ref = package_id << 24 | type_id << 16 | entry_id
        names.setdefault(ref, f"{type_name}/{entry_name}")
        for config in configs:
            found = _config_value(config, name)
            if found is None:
                continue
            values.setdefault(ref, []).append(found)
            if found.item is not None:
                text = item_value(found.item, name)
                if isinstance(text, str) and not text.startswith(("@0x", "?0x")):
                    strings.append(text)


def _config_value(config: memoryview, name: str) -> _Value | None:
    default = True
    item: memoryview | None = None
    has_value = False
    for cn, _cw, cv in pw.fields(config, name):
        if cn == 1:
            default = len(pw.message(cv, name)) == 0
        elif cn == 2:
            has_value = True
            for vn, _vw, vv in pw.fields(pw.message(cv, name), name):
                if vn == 4:
                    item = pw.message(vv, name)
    return _Value(default, item) if has_value else None

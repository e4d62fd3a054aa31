"""The rule language: conditions on a subject's fields, compiled from plain YAML data.

A condition is a mapping with exactly one key::

    all: [<condition>, ...]                 every one holds (an empty list is refused)
    any: [<condition>, ...]                 at least one holds (an empty list is refused)
    not: <condition>
    <field>: {<operator>: <operand>}        a test on one field of the subject

Operators: ``equals`` (a scalar), ``in`` / ``not_in`` (a list of strings), ``in_list`` /
``not_in_list`` (names of country lists), ``present`` (true/false), ``at_least`` (a confidence;
``confidence`` field only). For a field holding several values (``jurisdictions``), ``in`` holds
when any value is in the set and ``not_in`` when some value is outside it. An unknown value (``None``
or empty) never satisfies ``in``, ``not_in``, ``in_list`` nor ``not_in_list``: not knowing a
country is not evidence that it is outside a list.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from appvet.model import CONFIDENCE_ORDER
from appvet.policy.interface import Condition, Context, PolicyError, Subject, SubjectKind

MAX_DEPTH = 32
"""Nesting deeper than this is refused: a policy is read by people, and recursion must stay bounded."""

FIELDS: dict[str, frozenset[str]] = {
    "capability": frozenset({
        "category", "confidence", "holder", "holder_package", "first_party", "permissions", "apis",
        "sdk_name", "sdk_categories", "owner", "owner_country", "parent", "parent_country", "jurisdictions",
        "endpoint_hosts", "endpoint_countries",
    }),
    "sdk": frozenset({
        "sdk", "sdk_name", "sdk_categories", "matched_by", "owner", "owner_country", "parent", "parent_country",
        "jurisdictions", "data_categories", "confidence", "endpoint_hosts", "endpoint_countries",
        "banned_controller_lists", "banned_controller_jurisdictions",
    }),
    "endpoint": frozenset({
        "host", "domain", "kind", "owner", "owner_country", "parent", "parent_country", "jurisdictions",
        "holder", "holder_jurisdictions", "data_categories", "confidence", "observed",
    }),
    "app": frozenset({
        "package", "label", "signer_countries", "sdks", "sdk_jurisdictions", "bans", "ban_jurisdictions",
        "ban_scopes", "ban_statuses", "government_device_bans", "government_device_ban_jurisdictions",
        "developer_ban_lists", "developer_ban_jurisdictions",
    }),
}

OPERATORS = frozenset({"equals", "in", "not_in", "in_list", "not_in_list", "present", "at_least"})


def _values(value: Any) -> tuple[str, ...]:
    """A field's values as a tuple of strings; ``None`` and empty mean unknown."""
    if value is None or value == "":
        return ()
    if isinstance(value, (tuple, list, frozenset, set)):
        return tuple(str(v) for v in value)
    return (str(value),)


@dataclass(frozen=True)
class Equals:
    field: str
    value: str | bool | int | float | None

    def test(self, subject: Subject, ctx: Context) -> bool:
        return bool(subject.fields.get(self.field) == self.value)


@dataclass(frozen=True)
class In:
    field: str
    values: frozenset[str]
    negate: bool = False

    def test(self, subject: Subject, ctx: Context) -> bool:
        return _membership(_values(subject.fields.get(self.field)), self.values, self.negate)


@dataclass(frozen=True)
class InList:
    """Membership in named country lists, resolved at evaluation time (policy lists, then the knowledge base)."""

    field: str
    lists: tuple[str, ...]
    negate: bool = False

    def test(self, subject: Subject, ctx: Context) -> bool:
        countries: frozenset[str] = frozenset().union(*(ctx.country_list(name) for name in self.lists))
        return _membership(_values(subject.fields.get(self.field)), countries, self.negate)


def _membership(values: tuple[str, ...], allowed: frozenset[str], negate: bool) -> bool:
    if not values:
        return False
    if negate:
        return any(v not in allowed for v in values)
    return any(v in allowed for v in values)


@dataclass(frozen=True)
class Present:
    field: str
    expected: bool = True

    def test(self, subject: Subject, ctx: Context) -> bool:
        value = subject.fields.get(self.field)
        known = bool(_values(value)) if not isinstance(value, bool) else value
        return known == self.expected


@dataclass(frozen=True)
class ConfidenceAtLeast:
    """present < reachable < observed."""

    level: str

    def test(self, subject: Subject, ctx: Context) -> bool:
        return CONFIDENCE_ORDER[subject.confidence] >= CONFIDENCE_ORDER[self.level]


@dataclass(frozen=True)
class AllOf:
    children: tuple[Condition, ...]

    def __post_init__(self) -> None:
        # An empty conjunction is vacuously true: a rule that fires on everything is never what was meant.
        if not self.children:
            raise PolicyError("'all' needs at least one condition")

    def test(self, subject: Subject, ctx: Context) -> bool:
        return all(c.test(subject, ctx) for c in self.children)


@dataclass(frozen=True)
class AnyOf:
    children: tuple[Condition, ...]

    def __post_init__(self) -> None:
        if not self.children:
            raise PolicyError("'any' needs at least one condition")

    def test(self, subject: Subject, ctx: Context) -> bool:
        return any(c.test(subject, ctx) for c in self.children)


@dataclass(frozen=True)
class Not:
    child: Condition

    def test(self, subject: Subject, ctx: Context) -> bool:
        return not self.child.test(subject, ctx)


def compile_condition(raw: Any, subject: SubjectKind, where: str = "when", depth: int = 0) -> Condition:
    """Build condition objects from parsed YAML, checking field names against the rule's subject."""
    if depth > MAX_DEPTH:
        raise PolicyError(f"{where}: conditions nested deeper than {MAX_DEPTH}")
    if not isinstance(raw, dict) or len(raw) != 1:
        raise PolicyError(f"{where}: a condition is a mapping with exactly one key")
    ((key, body),) = raw.items()
    if key in ("all", "any"):
        if not isinstance(body, list):
            raise PolicyError(f"{where}.{key}: expected a list of conditions")
        children = tuple(
            compile_condition(c, subject, f"{where}.{key}[{i}]", depth + 1) for i, c in enumerate(body)
        )
        try:
            return AllOf(children) if key == "all" else AnyOf(children)
        except PolicyError as exc:
            raise PolicyError(f"{where}: {exc.message}") from None
    if key == "not":
        return Not(compile_condition(body, subject, f"{where}.not", depth + 1))
    return _field_condition(str(key), body, subject, f"{where}.{key}")


def _field_condition(name: str, body: Any, subject: SubjectKind, where: str) -> Condition:
    if name not in FIELDS[subject]:
        known = ", ".join(sorted(FIELDS[subject]))
        raise PolicyError(f"{where}: {subject} subjects have no field {name!r} (fields: {known})")
    if not isinstance(body, dict) or len(body) != 1:
        raise PolicyError(f"{where}: expected one operator ({', '.join(sorted(OPERATORS))})")
    ((op, operand),) = body.items()
    if op == "equals":
        if not isinstance(operand, (str, bool, int, float)) and operand is not None:
            raise PolicyError(f"{where}.equals: expected a scalar")
        return Equals(name, operand)
    if op in ("in", "not_in"):
        return In(name, frozenset(_strings(operand, f"{where}.{op}")), negate=op == "not_in")
    if op in ("in_list", "not_in_list"):
        names = (operand,) if isinstance(operand, str) else _strings(operand, f"{where}.{op}")
        if not names:
            raise PolicyError(f"{where}.{op}: name at least one country list")
        return InList(name, tuple(names), negate=op == "not_in_list")
    if op == "present":
        if not isinstance(operand, bool):
            raise PolicyError(f"{where}.present: expected true or false")
        return Present(name, operand)
    if op == "at_least":
        if name != "confidence":
            raise PolicyError(f"{where}: 'at_least' applies to the confidence field only")
        if operand not in CONFIDENCE_ORDER:
            raise PolicyError(f"{where}.at_least: expected one of {', '.join(CONFIDENCE_ORDER)}")
        return ConfidenceAtLeast(str(operand))
    raise PolicyError(f"{where}: unknown operator {op!r} (operators: {', '.join(sorted(OPERATORS))})")


def _strings(value: Any, where: str) -> tuple[str, ...]:
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise PolicyError(f"{where}: expected a list of strings")
    return tuple(value)


def list_names(cond: Condition) -> Iterable[str]:
    """Every country-list name a condition refers to, so a missing list is reported when the policy is used."""
    if isinstance(cond, InList):
        yield from cond.lists
    elif isinstance(cond, (AllOf, AnyOf)):
        for child in cond.children:
            yield from list_names(child)
    elif isinstance(cond, Not):
        yield from list_names(cond.child)

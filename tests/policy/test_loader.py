"""The policy language and loader: what compiles, what is refused, and that nothing else escapes."""

from __future__ import annotations

import contextlib
import json
import string
from datetime import date

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from appvet.errors import EXIT_INPUT, UsageError
from appvet.model import App, Review
from appvet.policy import (
    AllOf,
    AnyOf,
    Policy,
    PolicyError,
    evaluate,
    load_policy,
    parse_baseline,
    parse_policy,
    parse_waivers,
    shipped_policies,
)
from appvet.policy.interface import Subject
from appvet.policy.language import ConfidenceAtLeast, In, InList, Not, compile_condition
from appvet.policy.loader import SHIPPED_DIR

RULE = """
policy: test
title: Test
version: "1"
rules:
  - id: TS001
    title: t
    subject: {subject}
    when: {when}
    action: fail
    severity: high
"""


def policy_text(when: str, subject: str = "capability") -> bytes:
    return RULE.format(subject=subject, when=when).encode()


class Lists:
    def country_list(self, name: str) -> frozenset[str]:
        return {"adv": frozenset({"CN", "RU"})}[name]


def subject(**fields: object) -> Subject:
    return Subject(kind="capability", key=("x",), fields=fields, chain=(), confidence="reachable", summary="x")


def test_policy_error_is_a_usage_error_with_exit_code_2() -> None:
    assert issubclass(PolicyError, UsageError)
    assert PolicyError("x").exit_code == EXIT_INPUT == 2


def test_shipped_policies_load_and_cite_their_legal_basis() -> None:
    names = shipped_policies()
    assert names == ["default", "eu-third-country-transfer", "gov-device-strict", "india-69a", "us-foreign-adversary"]
    citations = {n: " ".join(b.citation for b in load_policy(n).legal_basis) for n in names}
    assert "15 CFR 791.4" in citations["us-foreign-adversary"]
    assert "Pub. L. 118-50, div. H" in citations["us-foreign-adversary"]
    for eo in ("13942", "13943", "13971", "14034"):
        assert eo in citations["us-foreign-adversary"]
    assert "69A" in citations["india-69a"] and "Rules, 2009" in citations["india-69a"]
    assert "art. 44-45" in citations["eu-third-country-transfer"]
    assert "15 CFR 791.4" in citations["gov-device-strict"]
    for name in names:
        header = (SHIPPED_DIR / f"{name}.yaml").read_text().split("\npolicy:")[0]
        assert "Legal basis" in header
    assert all(r.action == "info" for r in load_policy("default").rules)


def test_conditions_combine() -> None:
    cond = compile_condition(
        {"all": [{"category": {"in": ["precise_location"]}}, {"jurisdictions": {"in_list": "adv"}},
                 {"not": {"confidence": {"at_least": "observed"}}}]}, "capability")
    assert isinstance(cond, AllOf)
    assert isinstance(cond.children[1], InList) and isinstance(cond.children[2], Not)
    assert cond.test(subject(category="precise_location", jurisdictions=("CN", "KY")), Lists())
    assert not cond.test(subject(category="precise_location", jurisdictions=("US",)), Lists())
    assert not cond.test(subject(category="camera", jurisdictions=("CN",)), Lists())
    assert ConfidenceAtLeast("reachable").test(subject(), Lists())
    assert not ConfidenceAtLeast("observed").test(subject(), Lists())
    # An unknown country is not evidence of being outside a list.
    outside = compile_condition({"owner_country": {"not_in_list": ["adv"]}}, "capability")
    assert not outside.test(subject(owner_country=None), Lists())
    assert outside.test(subject(owner_country="US"), Lists())
    assert not outside.test(subject(owner_country="CN"), Lists())
    assert In("holder", frozenset({"a"}), negate=True).test(subject(holder="b"), Lists())


def test_empty_all_and_any_are_refused() -> None:
    with pytest.raises(PolicyError, match="at least one"):
        AllOf(())
    with pytest.raises(PolicyError, match="at least one"):
        AnyOf(())
    with pytest.raises(PolicyError):
        compile_condition({"all": []}, "app")
    with pytest.raises(PolicyError):
        parse_policy(policy_text("{all: []}"))


@pytest.mark.parametrize(("when", "subject_kind", "message"), [
    ("{colour: {in: [red]}}", "capability", "no field 'colour'"),
    ("{category: {like: x}}", "capability", "like"),
    ("{category: {at_least: reachable}}", "capability", "confidence field only"),
    ("{confidence: {at_least: sometimes}}", "capability", "sometimes"),
    ("{bans: {present: yes-ish}}", "app", "present"),
    ("{category: {in: [a]}, holder: {in: [b]}}", "capability", "when"),
    ("{host: {in: [a]}}", "sdk", "no field 'host'"),
])
def test_bad_conditions_name_the_problem(when: str, subject_kind: str, message: str) -> None:
    with pytest.raises(PolicyError, match=message) as info:
        parse_policy(policy_text(when, subject_kind), "p.yaml")
    assert info.value.file == "p.yaml"
    assert "\n" not in info.value.diagnostics()


def test_duplicate_ids_unknown_names_and_bad_files() -> None:
    doubled = policy_text("{category: {in: [a]}}") + b"""  - id: TS001
    title: t
    subject: app
    when: {bans: {present: true}}
    action: review
    severity: low
"""
    with pytest.raises(PolicyError, match="duplicate rule id"):
        parse_policy(doubled)
    with pytest.raises(PolicyError, match="no shipped policy 'nope'"):
        load_policy("nope")
    with pytest.raises(PolicyError, match="cannot read"):
        load_policy("/nonexistent/policy.yaml")
    with pytest.raises(PolicyError, match="not valid YAML"):
        parse_policy(b"rules: [\n")


def test_missing_country_list_is_reported_when_evaluating(tmp_path) -> None:
    policy = parse_policy(policy_text("{jurisdictions: {in_list: nowhere}}"))
    review = Review("1.0", App("a.apk", "0" * 64, 1, "a", None, None, None, None, None, (), (), (), 0, ()),
                    None, (), (), (), (), (), None, {})

    class NoLists:
        country_lists: dict[str, object] = {}  # noqa: RUF012
        ban_lists: dict[str, object] = {}  # noqa: RUF012

    with pytest.raises(PolicyError, match="unknown country list 'nowhere'"):
        evaluate(review, policy, NoLists(), date(2026, 1, 1))


# --------------------------------------------------------------------------- property tests

FIELD_NAMES = ["category", "confidence", "holder", "jurisdictions", "bans", "host", "nope", "all", "any", "not"]
OPS = ["equals", "in", "not_in", "in_list", "not_in_list", "present", "at_least", "like"]
scalars = st.one_of(st.none(), st.booleans(), st.integers(-3, 3), st.text(string.ascii_letters + "-_", max_size=8))
values = st.recursive(
    scalars,
    lambda inner: st.one_of(st.lists(inner, max_size=3),
                            st.dictionaries(st.sampled_from(FIELD_NAMES + OPS), inner, max_size=3)),
    max_leaves=12,
)
conditions = st.recursive(
    st.builds(lambda f, o, v: {f: {o: v}}, st.sampled_from(FIELD_NAMES), st.sampled_from(OPS), values),
    lambda inner: st.one_of(st.builds(lambda c: {"all": c}, st.lists(inner, max_size=3)),
                            st.builds(lambda c: {"any": c}, st.lists(inner, max_size=3)),
                            st.builds(lambda c: {"not": c}, inner)),
    max_leaves=8,
)
rules = st.fixed_dictionaries({
    "id": st.sampled_from(["FA001", "XX002", "bad"]),
    "title": st.sampled_from(["t", ""]),
    "subject": st.sampled_from(["app", "sdk", "capability", "endpoint", "thing"]),
    "when": st.one_of(conditions, values),
    "action": st.sampled_from(["info", "review", "fail", "explode"]),
    "severity": st.sampled_from(["low", "high", "extreme"]),
})
documents = st.one_of(values, st.fixed_dictionaries({
    "policy": st.sampled_from(["p", "Bad Name"]),
    "title": st.just("T"),
    "version": st.sampled_from(["1", 1]),
    "rules": st.lists(rules, max_size=3),
}))


@settings(max_examples=150, deadline=None)
@given(documents)
def test_random_documents_compile_or_raise_policy_error(doc: object) -> None:
    text = yaml.safe_dump(doc).encode()
    try:
        assert isinstance(parse_policy(text), Policy)
    except PolicyError as exc:
        assert exc.message and "\n" not in exc.diagnostics()


@settings(max_examples=150, deadline=None)
@given(st.binary(max_size=300))
def test_random_bytes_compile_or_raise_policy_error(data: bytes) -> None:
    with contextlib.suppress(PolicyError):
        parse_policy(data)


SHIPPED_TEXT = (SHIPPED_DIR / "us-foreign-adversary.yaml").read_bytes()


@settings(max_examples=150, deadline=None)
@given(st.integers(0, len(SHIPPED_TEXT) - 1), st.binary(min_size=1, max_size=4))
def test_mutated_shipped_policy_compiles_or_raises_policy_error(pos: int, patch: bytes) -> None:
    data = SHIPPED_TEXT[:pos] + patch + SHIPPED_TEXT[pos + len(patch):]
    with contextlib.suppress(PolicyError):
        parse_policy(data)


def test_yaml_aliases_and_deep_nesting_are_refused() -> None:
    bomb = b'a: &a ["x", "x"]\nb: &b [*a, *a]\nc: &c [*b, *b]\n'
    with pytest.raises(PolicyError, match="aliases"):
        parse_policy(bomb)
    with pytest.raises(PolicyError):
        parse_policy(b"[" * 3000 + b"]" * 3000)


@settings(max_examples=100, deadline=None)
@given(st.one_of(st.binary(max_size=200), documents.map(lambda d: yaml.safe_dump({"waivers": [d]}).encode())))
def test_random_waiver_files_parse_or_raise_policy_error(data: bytes) -> None:
    with contextlib.suppress(PolicyError):
        for waiver in parse_waivers(data):
            assert waiver.reason and waiver.approver


@settings(max_examples=100, deadline=None)
@given(st.one_of(st.binary(max_size=200), values.map(lambda v: json.dumps({"app": v, "findings": v}).encode())))
def test_random_baselines_parse_or_raise_policy_error(data: bytes) -> None:
    with contextlib.suppress(PolicyError):
        parse_baseline(data)

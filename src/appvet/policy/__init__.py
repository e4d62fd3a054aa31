"""Policies: named rules over a Review that give a verdict (pass / review / fail) with an evidence chain.

    load_policy(name_or_path) -> Policy          shipped name or YAML file; PolicyError (exit 2) when invalid
    evaluate(review, policy, kb, on, waivers=None, baseline=None) -> PolicyResult
    apply(review, result) -> Review              the review with the verdict and policy findings added
    load_waivers(path) -> tuple[Waiver, ...]
    load_baseline(path) -> Review

See docs/policies.md for the file format and the shipped policies.
"""

from appvet.policy.baseline import load_baseline, parse_baseline
from appvet.policy.engine import apply, evaluate
from appvet.policy.interface import (
    Condition,
    FiredRule,
    LegalBasis,
    Policy,
    PolicyError,
    PolicyResult,
    Rule,
    Subject,
    WaivedFinding,
    Waiver,
)
from appvet.policy.language import AllOf, AnyOf, Not
from appvet.policy.loader import load_policy, parse_policy, shipped_policies
from appvet.policy.waivers import load_waivers, parse_waivers

__all__ = [
    "AllOf",
    "AnyOf",
    "Condition",
    "FiredRule",
    "LegalBasis",
    "Not",
    "Policy",
    "PolicyError",
    "PolicyResult",
    "Rule",
    "Subject",
    "WaivedFinding",
    "Waiver",
    "apply",
    "evaluate",
    "load_baseline",
    "load_policy",
    "load_waivers",
    "parse_baseline",
    "parse_policy",
    "parse_waivers",
    "shipped_policies",
]

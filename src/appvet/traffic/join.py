"""Tie observed flows back to the reviewed app: which SDK sent what, and which endpoints were used.

``join`` is a pure function of a finished ``Review`` and the flows read from captures; it never edits
the review. ``observed`` says which capabilities and endpoints the report supports as ``observed``,
for the caller to apply.
"""

from __future__ import annotations

import dataclasses
from collections import defaultdict
from collections.abc import Iterable, Sequence

from appvet.analyze.endpoints import registrable_domain
from appvet.kb import KnowledgeBase
from appvet.model import FIRST_PARTY, Review
from appvet.traffic.model import CaptureNote, Flow, Observation, TrafficReport


def _endpoint_index(review: Review) -> tuple[dict[str, set[str]], dict[str, set[str]]]:
    """Holders of the app's static endpoints, by host and by registrable domain."""
    by_host: dict[str, set[str]] = defaultdict(set)
    by_domain: dict[str, set[str]] = defaultdict(set)
    for ep in review.endpoints:
        host = ep.host.lower()
        holders = {ep.holder} if ep.holder else set()
        by_host[host] |= holders
        dom = ep.domain or registrable_domain(host)
        if dom:
            by_domain[dom] |= holders
    return by_host, by_domain


def link_sdks(
    flow: Flow, review: Review, kb: KnowledgeBase | None, by_host: dict[str, set[str]], by_domain: dict[str, set[str]]
) -> tuple[str, ...]:
    """SDKs of the app (or ``first-party``) that a flow's host belongs to."""
    host = flow.destination.host
    if not host:
        return ()
    present = {s.id for s in review.sdks}
    holders = set(by_host.get(host, ()))
    if not holders and flow.destination.domain:
        holders = set(by_domain.get(flow.destination.domain, ()))
    if kb is not None:
        sdk = kb.sdk_for_host(host)
        if sdk in present:
            holders.add(sdk)
    return tuple(sorted(holders))


def join(
    review: Review,
    flows: Iterable[Flow],
    kb: KnowledgeBase | None = None,
    notes: Sequence[CaptureNote] = (),
    sources: Sequence[str] = (),
) -> TrafficReport:
    by_host, by_domain = _endpoint_index(review)
    linked: list[Flow] = []
    contacted: set[str] = set()
    unexpected: set[str] = set()
    pairs: dict[tuple[str, str], list[int]] = defaultdict(list)
    for flow in flows:
        sdks = link_sdks(flow, review, kb, by_host, by_domain)
        flow = dataclasses.replace(flow, sdks=sdks)
        pos = len(linked)
        linked.append(flow)
        host = flow.destination.host
        if host:
            contacted.add(host)
        label = host or flow.destination.ip
        known = bool(host and (host in by_host or (flow.destination.domain in by_domain)))
        if label and not known and not sdks:
            unexpected.add(label)
        for category in sorted({h.category for h in flow.hits}):
            for holder in sdks or ():
                pairs[(category, holder)].append(pos)
    static = set(by_host)
    observations = tuple(
        Observation(category, holder, tuple(sorted(set(idx)))) for (category, holder), idx in sorted(pairs.items())
    )
    return TrafficReport(
        flows=tuple(linked),
        unexpected=tuple(sorted(unexpected)),
        unseen_endpoints=tuple(sorted(static - contacted)),
        observed_endpoints=tuple(sorted(static & contacted)),
        observations=observations,
        notes=tuple(notes),
        sources=tuple(sources),
    )


def observed(report: TrafficReport) -> tuple[frozenset[tuple[str, str]], frozenset[str]]:
    """(category, holder) pairs and endpoint hosts that traffic shows as ``observed``.

    A pair counts for a capability held by that SDK (``first-party`` for the app's own code); the
    caller upgrades only capabilities and endpoints that the static review already lists.
    """
    return (
        frozenset((o.category, o.holder) for o in report.observations),
        frozenset(report.observed_endpoints),
    )


def apply(review: Review, report: TrafficReport) -> Review:
    """The review with the report attached and what it shows upgraded to ``observed``.

    Only capabilities and endpoints the static review already lists are upgraded: traffic
    confirms a static claim, it does not invent code that was not found.
    """
    pairs, hosts = observed(report)
    caps = tuple(
        dataclasses.replace(c, confidence="observed") if (c.category, c.holder) in pairs else c
        for c in review.capabilities
    )
    eps = tuple(
        dataclasses.replace(e, confidence="observed") if e.host.lower() in hosts else e for e in review.endpoints
    )
    return dataclasses.replace(review, capabilities=caps, endpoints=eps, traffic=report)


__all__ = ["FIRST_PARTY", "apply", "join", "link_sdks", "observed"]

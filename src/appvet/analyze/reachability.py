"""Which capabilities and SDKs are reachable from an entry point, with one shortest path as witness.

``present`` says code referencing a sensitive API is in the APK; ``reachable`` says, in addition,
that a chain of calls (and framework callbacks, see ``callgraph``) leads to it from something
Android starts. The witness path lets a person check the claim method by method. When the graph
could not be built in time, nothing is upgraded and a Skip says so.
"""

from __future__ import annotations

import dataclasses
from array import array
from dataclasses import dataclass

from appvet.analyze import callgraph
from appvet.analyze.interface import AppFacts
from appvet.analyze.sdks import Attribution, dotted
from appvet.errors import FormatError, LimitExceeded
from appvet.ingest.interface import Budget
from appvet.kb import KnowledgeBase
from appvet.model import FIRST_PARTY, Capability, SdkHit, Skip

STAGE = "reachability"


@dataclass
class Reach:
    """The call graph and one BFS over it, shared by the passes that ask "is this reached?"."""

    graph: callgraph.CallGraph
    parent: array
    depth: array
    _by_class: dict[str, tuple[int, str, int]] | None = None

    def by_class(self) -> dict[str, tuple[int, str, int]]:
        """Class -> (depth, label, id) of its nearest reached method (ties broken by label)."""
        if self._by_class is None:
            out: dict[str, tuple[int, str, int]] = {}
            depth, defined, classes, labels = self.depth, self.graph.defined, self.graph.classes, self.graph.labels
            for gid in range(len(labels)):
                d = depth[gid]
                if d < 0 or not defined[gid]:
                    continue
                key = (d, labels[gid], gid)
                old = out.get(classes[gid])
                if old is None or key < old:
                    out[classes[gid]] = key
            self._by_class = out
        return self._by_class

    def first_reached(self, class_descriptor: str) -> int | None:
        hit = self.by_class().get(class_descriptor)
        return None if hit is None else hit[2]

    def reached(self, gid: int) -> bool:
        return self.depth[gid] >= 0

    def witness(self, gid: int, last: str = "") -> tuple[str, ...]:
        path = callgraph.witness(self.graph, self.parent, gid)
        return path + ((last,) if last else ())

    def gid(self, unit_index: int, method_idx: int) -> int:
        return self.graph.local_ids[unit_index][method_idx]


def compute(facts: AppFacts, budget: Budget) -> tuple[Reach | None, list[Skip]]:
    """Build the graph and run the BFS; ``None`` with a Skip when the stage budget ran out."""
    try:
        budget.check(facts.package.file_name)
        graph = callgraph.build(facts)
        budget.check(facts.package.file_name)
        parent, depth = callgraph.shortest_paths(graph)
    except (LimitExceeded, FormatError) as exc:
        where = f" in {exc.file}" if exc.file else ""
        return None, [Skip("call graph", f"{exc.message}{where}; capabilities stay 'present'", STAGE)]
    skips = [Skip("call graph", note, STAGE) for note in graph.notes]
    if not graph.entries and facts.dex:
        skips.append(Skip("call graph", "no entry point found in the manifest; nothing can be shown reachable", STAGE))
    return Reach(graph, parent, depth), skips


def _api_sites(facts: AppFacts, kb: KnowledgeBase, apis: set[str], unit_index: int,
               ) -> list[tuple[array, array, dict[int, tuple[str, tuple[str, ...]]]]]:
    """(callers, targets, target -> (api label, categories)) for the sites of ``apis`` in one dex.

    Labels and categories are made as the capabilities pass makes them, so a site found here is
    one that pass counted.
    """
    dex = facts.dex[unit_index].dex
    refs = dex.scan_code()
    out = []
    for callers, targets, labels, cats_of in (
        (refs.invoke_caller, refs.invoke_callee, dex.method_refs(), kb.method_categories),
        (refs.field_caller, refs.field_ref, dex.field_refs(), kb.field_categories),
    ):
        hits = {}
        for idx in set(targets):
            cls, name, _rest = labels[idx]
            label = f"{cls}->{name}"
            if label in apis:
                hits[idx] = (label, cats_of(cls, name))
        if hits:
            out.append((callers, targets, hits))
    hits = {}
    for idx in set(refs.string_ref):
        text = dex.string(idx)
        if text in apis:
            hits[idx] = (text, kb.string_categories(text))
    if hits:
        out.append((refs.string_caller, refs.string_ref, hits))
    return out


def upgrade_capabilities(facts: AppFacts, kb: KnowledgeBase, attribution: Attribution, reach: Reach,
                         caps: list[Capability]) -> list[Capability]:
    """Capabilities with at least one reached call site become ``reachable``, with a witness."""
    wanted = {(c.category, c.holder): set(c.apis) for c in caps if c.apis and c.confidence == "present"}
    if not wanted:
        return caps
    all_apis = set().union(*wanted.values())
    best: dict[tuple[str, str], tuple[int, str, str, int]] = {}  # key -> (depth, label, api, gid)
    depth, classes, labels = reach.depth, reach.graph.classes, reach.graph.labels
    for i in range(len(facts.dex)):
        local = reach.graph.local_ids[i]
        for callers, targets, hits in _api_sites(facts, kb, all_apis, i):
            for caller, target in zip(callers, targets, strict=True):
                hit = hits.get(target)
                if hit is None:
                    continue
                gid = local[caller]
                d = depth[gid]
                if d < 0:
                    continue
                api, cats = hit
                holder = attribution.holder(dotted(classes[gid]))
                for cat in cats:
                    key = (cat, holder)
                    apis = wanted.get(key)
                    if apis is None or api not in apis:
                        continue
                    cand = (d, labels[gid], api, gid)
                    old = best.get(key)
                    if old is None or cand < old:
                        best[key] = cand
    out = []
    for cap in caps:
        hit = best.get((cap.category, cap.holder))
        if hit is None:
            out.append(cap)
            continue
        _d, _label, api, gid = hit
        out.append(dataclasses.replace(cap, confidence="reachable", witness=reach.witness(gid, f"calls {api}")))
    return out


def sdk_initialisation(attribution: Attribution, reach: Reach, hits: list[SdkHit]) -> list[SdkHit]:
    """Mark each SDK with code in the app as started (some method reached) or not."""
    first: dict[str, tuple[int, str, int]] = {}  # holder -> (depth, label, gid)
    for cls, key in reach.by_class().items():
        holder = attribution.holder(dotted(cls))
        if holder == FIRST_PARTY:
            continue
        old = first.get(holder)
        if old is None or key < old:
            first[holder] = key
    out = []
    for hit in hits:
        if hit.class_count == 0:
            out.append(hit)
            continue
        seen = first.get(hit.id)
        if seen is None:
            out.append(dataclasses.replace(hit, initialised=False))
        else:
            out.append(dataclasses.replace(hit, initialised=True, witness=reach.witness(seen[2])))
    return out

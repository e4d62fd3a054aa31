"""A call graph over every DEX file of the app, built from the invoke sites the DEX reader found.

Methods get one global integer id across all dex files, keyed once by ``Lcls;->name(proto)ret``,
so a call from classes.dex into classes2.dex is an ordinary edge. Virtual and interface calls are
resolved by class hierarchy analysis (CHA): the implementation inherited by the named class plus
every override in an app class below it.

Android starts code without an explicit call in many ways; they are modelled by two rules, so
no list of framework APIs has to be complete:

* entry classes: manifest components, the ``Application`` class, and classes the framework
  instantiates by reflection (WorkManager workers, App Startup initializers). Their constructors
  and static initialisers are entry points, with or without intent filters; a declared class
  that defines no constructor of its own enters through its app superclass's constructors and
  the instance methods Android calls on it.
* callbacks: once an app class that derives from a framework type (``Activity``, ``Runnable``,
  ``Thread``, ``AsyncTask``, ``Handler``, a listener interface ...) is instantiated on a reachable
  path, the framework may call any of its non-private instance methods; an edge from each of its
  constructors to each such method says so. This covers Thread/Executor/Handler/AsyncTask work,
  listeners, registered receivers and lifecycle methods, and it over-approximates: a method
  merely named like a callback counts as callable once its object exists.

A class's static initialiser is reached from each of its methods and from code reading its
static fields. ``Class.forName`` with a constant class name in the same method counts as
initialising and creating that class; other reflection (names built at run time,
``Method.invoke``) and invoke-custom call sites are not followed, so code reached only that way
stays ``present``.
"""

from __future__ import annotations

from array import array
from collections.abc import Iterable
from dataclasses import dataclass, field

from appvet.analyze.interface import AppFacts
from appvet.android.manifest import class_name

ACC_PRIVATE = 0x2
ACC_STATIC = 0x8
ACC_ABSTRACT = 0x400
ACC_CONSTRUCTOR = 0x10000

OBJECT = "Ljava/lang/Object;"

REFLECTIVELY_CREATED = frozenset({
    "Landroidx/work/ListenableWorker;",
    "Landroidx/work/Worker;",
    "Landroidx/work/CoroutineWorker;",
    "Landroidx/work/RxWorker;",
    "Landroidx/startup/Initializer;",
    "Landroid/app/AppComponentFactory;",
    "Landroidx/core/app/CoreComponentFactory;",
})
"""Framework types whose app subclasses Android or AndroidX create by reflection, never with ``new``."""

MAX_DISPATCH_WORK = 20_000_000
"""Bound on subtype tests during CHA; past it, dispatch falls back to the named method only."""


def descriptor(dotted_name: str) -> str:
    return "L" + dotted_name.replace(".", "/") + ";"


@dataclass
class CallGraph:
    """Methods as integers, edges as lists of integers; the labels only for output."""

    labels: list[str]
    """Global method id -> ``Lcls;->name(proto)ret``."""
    classes: list[str]
    """Global method id -> class descriptor."""
    defined: bytearray
    """1 where the method is defined by a class of the app (not only referenced)."""
    succ: list[list[int]]
    """Caller id -> callee ids (after dispatch); a callee called twice may be listed twice."""
    entries: dict[int, str]
    """Entry method id -> why it is one (``manifest activity com.x.Main``)."""
    local_ids: list[array]
    """Per dex unit of ``facts.dex``: local method_idx -> global id."""
    notes: list[str] = field(default_factory=list)
    """Where a bound cut the construction short; reported, never silent."""
    by_label: dict[str, int] = field(default_factory=dict)
    dispatch: dict[int, tuple[int, ...]] = field(default_factory=dict)
    """Referenced method id -> the app methods a call to it can run (CHA); absent for framework-only."""

    @property
    def edge_count(self) -> int:
        return sum(len(v) for v in self.succ)


@dataclass
class _Hierarchy:
    superclass: dict[str, str | None]
    interfaces: dict[str, tuple[str, ...]]
    methods: dict[str, dict[str, int]]
    """Class -> signature (``name(proto)ret``) -> global id, for app-defined classes."""
    flags: dict[int, int]
    _ancestors: dict[str, frozenset[str]] = field(default_factory=dict)

    def ancestors(self, cls: str) -> frozenset[str]:
        """Every supertype of ``cls`` (app and framework), itself excluded; cycles cut."""
        done = self._ancestors.get(cls)
        if done is not None:
            return done
        out: set[str] = set()
        stack = [cls]
        while stack:
            c = stack.pop()
            cached = self._ancestors.get(c) if c != cls else None
            if cached is not None:
                out |= cached
                continue
            parents = list(self.interfaces.get(c, ()))
            sup = self.superclass.get(c)
            if sup is not None:
                parents.append(sup)
            for p in parents:
                if p not in out and p != cls:
                    out.add(p)
                    stack.append(p)
        result = frozenset(out)
        self._ancestors[cls] = result
        return result

    def resolve_up(self, cls: str, sig: str) -> int | None:
        """The implementation a call on ``cls`` reaches by inheritance (superclass chain only)."""
        seen = 0
        c: str | None = cls
        while c is not None and seen < 256:
            m = self.methods.get(c)
            if m is not None:
                hit = m.get(sig)
                if hit is not None:
                    return hit
            elif c not in self.superclass:
                return None
            c = self.superclass.get(c)
            seen += 1
        return None


def _entry_classes(facts: AppFacts) -> list[tuple[str, str]]:
    """(class descriptor, reason) for every class the manifest names as started by Android."""
    out: list[tuple[str, str]] = []
    m = facts.manifest
    if m is None:
        return out
    app = m.elements.get("application:")
    if app is not None:
        for attr, what in (("android:name", "application"), ("android:backupAgent", "backup agent"),
                           ("android:appComponentFactory", "component factory")):
            value = app.attrs.get(attr)
            if isinstance(value, str) and value:
                out.append((descriptor(class_name(m.package, value)), f"manifest {what} {value}"))
    for comp in m.summary.components:
        out.append((descriptor(comp.name), f"manifest {comp.kind} {comp.name}"))
    return out


def build(facts: AppFacts) -> CallGraph:
    """The call graph of the app; work is linear in sites plus the CHA subtype tests (bounded)."""
    ids: dict[str, int] = {}
    labels: list[str] = []
    classes: list[str] = []
    sigs: list[str] = []
    local_ids: list[array] = []
    for unit in facts.dex:
        local = array("i")
        for cls, name, proto in unit.dex.method_refs():
            sig = name + proto
            key = cls + "->" + sig
            gid = ids.get(key)
            if gid is None:
                gid = ids[key] = len(labels)
                labels.append(key)
                classes.append(cls)
                sigs.append(sig)
            local.append(gid)
        local_ids.append(local)

    hier = _Hierarchy({}, {}, {}, {})
    defined = bytearray(len(labels))
    by_sig: dict[str, list[str]] = {}
    for unit, local in zip(facts.dex, local_ids, strict=True):
        dex = unit.dex
        for cdef in dex.classes():
            if cdef.descriptor not in hier.superclass:
                hier.superclass[cdef.descriptor] = cdef.superclass
                hier.interfaces[cdef.descriptor] = cdef.interfaces
        for cls, idxs, flags in dex.class_methods():
            if cls in hier.methods:
                continue  # the first dex defining a class wins, as with Android's class loader
            table: dict[str, int] = {}
            for idx, acc in zip(idxs, flags, strict=True):
                gid = local[idx]
                table[sigs[gid]] = gid
                hier.flags[gid] = acc
                defined[gid] = 1
                by_sig.setdefault(sigs[gid], []).append(cls)
            hier.methods[cls] = table

    notes: list[str] = []
    descendants: dict[str, list[str]] = {}
    for cls in hier.methods:
        for a in hier.ancestors(cls):
            descendants.setdefault(a, []).append(cls)
    work = MAX_DISPATCH_WORK
    cut = False

    def targets(gid: int) -> tuple[int, ...]:
        nonlocal work, cut
        cls, sig = classes[gid], sigs[gid]
        up = hier.resolve_up(cls, sig)
        out = [] if up is None else [up]
        if sig.startswith("<") or (up is not None and hier.flags.get(up, 0) & (ACC_PRIVATE | ACC_STATIC)):
            return tuple(out)
        defs = by_sig.get(sig, ())
        if len(defs) <= 1 and (not defs or defs[0] == cls):
            return tuple(out)
        below = descendants.get(cls, ())
        cost = min(len(defs), len(below))
        if work < cost:
            cut = True
            return tuple(out)
        work -= cost
        if len(defs) <= len(below):
            under = set(below)
            out.extend(hier.methods[d][sig] for d in defs if d in under)
        else:
            methods = hier.methods
            out.extend(t for d in below if (t := methods[d].get(sig)) is not None)
        return tuple(dict.fromkeys(out))

    # Lists indexed by id rather than dicts: the loop below runs once per invoke site.
    succ: list[list[int]] = [[] for _ in range(len(labels))]
    dispatch: dict[int, tuple[int, ...]] = {}
    for unit, local in zip(facts.dex, local_ids, strict=True):
        refs = unit.dex.scan_code()
        resolved: list[tuple[int, ...] | None] = [None] * len(local)
        for callee in set(refs.invoke_callee):
            tg = targets(local[callee])
            if tg:
                resolved[callee] = tg
                dispatch[local[callee]] = tg
        for caller, callee in zip(refs.invoke_caller, refs.invoke_callee, strict=True):
            tg = resolved[callee]
            if tg is not None:
                succ[local[caller]].extend(tg)
        _static_init_edges(unit, local, hier, succ)
        _reflection_edges(unit, local, hier, succ)
    if cut:
        notes.append(f"call graph: CHA work bound ({MAX_DISPATCH_WORK:,} subtype tests) reached; some virtual "
                     "calls were resolved to the named method only, so fewer methods may be shown reachable")

    _clinit_and_callback_edges(hier, succ)

    entries: dict[int, str] = {}
    for cls, why in _entry_classes(facts):
        _add_component_entries(hier, cls, why, entries)
    for cls in hier.methods:
        if hier.ancestors(cls) & REFLECTIVELY_CREATED:
            _add_class_entries(hier, cls, "created by the framework by reflection", entries)
    return CallGraph(labels, classes, defined, succ, entries, local_ids, notes, ids, dispatch)


def _add_component_entries(hier: _Hierarchy, cls: str, why: str, entries: dict[int, str]) -> None:
    """Entry points of a class the manifest declares: Android creates it and calls its lifecycle methods.

    Intent filters do not matter: a declared component can be started explicitly, by the system
    (a provider at process start) or by another app when exported. Usually the class's own
    constructors lead to everything (through the callback edges). A class that defines no
    constructor (or no method at all) is still created: the nearest app superclass's constructors
    run, and the methods Android calls on it (its own non-private instance methods and those it
    inherits from app superclasses) are entries themselves.
    """
    own = hier.methods.get(cls, {})
    if any(sig.startswith("<init>") for sig in own):
        _add_class_entries(hier, cls, why, entries)
        return
    if cls not in hier.superclass and cls not in hier.methods:
        return  # declared but not in the code: nothing of the app runs
    seen: set[str] = set()
    c: str | None = cls
    created = False
    for _ in range(256):
        if c is None or (c not in hier.methods and c not in hier.superclass):
            break
        table = hier.methods.get(c, {})
        for sig, gid in table.items():
            if sig.startswith("<clinit>") and c == cls:
                entries.setdefault(gid, why)
            elif sig.startswith("<init>"):
                if not created:
                    entries.setdefault(gid, why)
            elif sig not in seen and not hier.flags.get(gid, 0) & (ACC_PRIVATE | ACC_STATIC):
                entries.setdefault(gid, why)
            seen.add(sig)
        created = created or any(sig.startswith("<init>") for sig in table)
        c = hier.superclass.get(c)


def _add_class_entries(hier: _Hierarchy, cls: str, why: str, entries: dict[int, str]) -> None:
    table = hier.methods.get(cls)
    if table is None:
        return
    for sig, gid in table.items():
        if sig.startswith("<init>") or sig.startswith("<clinit>"):
            entries.setdefault(gid, why)


def _static_init_edges(unit, local: array, hier: _Hierarchy, succ: list[list[int]]) -> None:  # type: ignore[no-untyped-def]
    """Reading or writing a static field of a class runs its static initialiser first."""
    dex = unit.dex
    refs = dex.scan_code()
    clinit_of: dict[int, int] = {}
    fields = dex.field_refs()
    for fidx in set(refs.field_ref):
        cls = fields[fidx][0]
        table = hier.methods.get(cls)
        if table is not None:
            gid = table.get("<clinit>()V")
            if gid is not None:
                clinit_of[fidx] = gid
    if not clinit_of:
        return
    for caller, fidx in set(zip(refs.field_caller, refs.field_ref, strict=True)):
        gid = clinit_of.get(fidx)
        if gid is not None:
            succ[local[caller]].append(gid)


_FOR_NAME = ("Ljava/lang/Class;", "forName")


def _reflection_edges(unit, local: array, hier: _Hierarchy, succ: list[list[int]]) -> None:  # type: ignore[no-untyped-def]
    """``Class.forName("a.b.C")`` with a constant name: the caller may initialise and create a C.

    Only constant names in the same method as the forName call are followed; names built at run
    time are not, so code reached only that way stays ``present``.
    """
    dex = unit.dex
    refs = dex.scan_code()
    methods = dex.method_refs()
    for_name = {idx for idx in set(refs.invoke_callee) if methods[idx][:2] == _FOR_NAME}
    if not for_name:
        return
    callers = {c for c, t in zip(refs.invoke_caller, refs.invoke_callee, strict=True) if t in for_name}
    for caller, sidx in zip(refs.string_caller, refs.string_ref, strict=True):
        if caller not in callers:
            continue
        table = hier.methods.get("L" + dex.string(sidx).replace(".", "/") + ";")
        if table is not None:
            succ[local[caller]].extend(gid for sig, gid in table.items() if sig.startswith(("<init>", "<clinit>")))


def _clinit_and_callback_edges(hier: _Hierarchy, succ: list[list[int]]) -> None:
    app = hier.methods
    for cls, table in app.items():
        clinit = table.get("<clinit>()V")
        if clinit is not None:
            for gid in table.values():
                if gid != clinit:
                    succ[gid].append(clinit)
        framework = [a for a in hier.ancestors(cls) if a not in app and a != OBJECT]
        if not framework:
            continue
        inits = [gid for sig, gid in table.items() if sig.startswith("<init>")]
        callbacks = [gid for sig, gid in table.items()
                     if not sig.startswith("<") and not hier.flags.get(gid, 0) & (ACC_PRIVATE | ACC_STATIC)]
        for i in inits:
            succ[i].extend(callbacks)


def shortest_paths(graph: CallGraph) -> tuple[array, array]:
    """(parent, depth) of every method from a BFS out of all entries at once; -1 = unreached.

    An entry's parent is itself; following parents from a method gives one shortest path back
    to an entry point, which is the witness shown to a person.
    """
    n = len(graph.labels)
    parent = array("i", [-1]) * n
    depth = array("i", [-1]) * n
    frontier: list[int] = []
    for gid in sorted(graph.entries):
        parent[gid] = gid
        depth[gid] = 0
        frontier.append(gid)
    succ = graph.succ
    d = 0
    while frontier:
        d += 1
        nxt: list[int] = []
        for u in frontier:
            for v in succ[u]:
                if parent[v] < 0:
                    parent[v] = u
                    depth[v] = d
                    nxt.append(v)
        frontier = nxt
    return parent, depth


def witness(graph: CallGraph, parent: array, gid: int, limit: int = 64) -> tuple[str, ...]:
    """Entry first: ``why it is an entry``, then each method label down to ``gid``."""
    chain: list[int] = []
    cur = gid
    while cur >= 0 and len(chain) < limit:
        chain.append(cur)
        nxt = parent[cur]
        if nxt == cur:
            break
        cur = nxt
    chain.reverse()
    head = graph.entries.get(chain[0], "")
    return ((f"entry: {head}",) if head else ()) + tuple(graph.labels[g] for g in chain)


def reached_classes(graph: CallGraph, depth: array) -> set[str]:
    """Classes with at least one reached method defined in the app."""
    cls, defined = graph.classes, graph.defined
    return {cls[g] for g in range(len(cls)) if depth[g] >= 0 and defined[g]}


def labels_of(graph: CallGraph, gids: Iterable[int]) -> list[str]:
    return [graph.labels[g] for g in gids]

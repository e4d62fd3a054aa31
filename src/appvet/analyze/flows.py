"""Paths in code from a sensitive API to an API that sends data off the device.

Inside a method, registers are followed in instruction order: a value returned by a sensitive
API (or read from a sensitive field) is tainted; moves, casts, arithmetic, array and field stores
pass taint on; a call with a tainted argument taints its result and its receiver (a
``StringBuilder``, ``JSONObject``, ``Intent`` or request builder that took the value now holds
it). Branches are not told apart: a value tainted on one branch stays tainted after it, which
over-approximates. Across calls, each method gets two summaries, computed in rounds from the
methods that touch a source or a sink upward through their callers: "returns a value from
source S" and "passes its parameter i to sink K". The number of rounds (the call depth a flow
may span), the methods analysed and the time are bounded; what a bound cut is reported as a
Skip with stage ``flows``, never dropped silently.

Sinks are APIs that send what they are given off the device or to another app: HTTP clients
(HttpURLConnection streams, OkHttp, Volley, Cronet), sockets, WebView URLs and JavaScript, SMS,
IPC intents, content providers (shared storage), and the system log.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass, field

from appvet.analyze.interface import AppFacts
from appvet.analyze.reachability import Reach
from appvet.analyze.sdks import Attribution, dotted
from appvet.errors import FormatError
from appvet.kb import KnowledgeBase
from appvet.model import CodeFlow, Evidence, FlowStep, Skip

STAGE = "flows"
MAX_ROUNDS = 4
"""Calls a flow may span beyond the method where source and sink meet, on each side."""
MAX_METHODS = 20_000
MAX_SECONDS = 20.0
MAX_LABELS = 8
"""Distinct sources kept per register; more are dropped (and the cut reported)."""
MAX_FLOWS = 200
MAX_PATH = 24

SINKS: dict[tuple[str, str], str] = {
    ("Ljava/io/OutputStream;", "write"): "network",
    ("Ljava/io/DataOutputStream;", "write"): "network",
    ("Ljava/io/DataOutputStream;", "writeBytes"): "network",
    ("Ljava/io/DataOutputStream;", "writeUTF"): "network",
    ("Ljava/io/BufferedOutputStream;", "write"): "network",
    ("Ljava/io/Writer;", "write"): "network",
    ("Ljava/io/OutputStreamWriter;", "write"): "network",
    ("Ljava/io/BufferedWriter;", "write"): "network",
    ("Ljava/io/PrintWriter;", "print"): "network",
    ("Ljava/io/PrintWriter;", "println"): "network",
    ("Ljava/io/PrintWriter;", "write"): "network",
    ("Ljava/net/URL;", "<init>"): "network",
    ("Ljava/net/HttpURLConnection;", "setRequestProperty"): "network",
    ("Ljava/net/URLConnection;", "setRequestProperty"): "network",
    ("Ljava/net/URLConnection;", "addRequestProperty"): "network",
    ("Lokhttp3/Request$Builder;", "url"): "network",
    ("Lokhttp3/Request$Builder;", "header"): "network",
    ("Lokhttp3/Request$Builder;", "addHeader"): "network",
    ("Lokhttp3/Request$Builder;", "post"): "network",
    ("Lokhttp3/Request$Builder;", "put"): "network",
    ("Lokhttp3/RequestBody;", "create"): "network",
    ("Lokhttp3/FormBody$Builder;", "add"): "network",
    ("Lokhttp3/HttpUrl$Builder;", "addQueryParameter"): "network",
    ("Lokhttp3/WebSocket;", "send"): "network",
    ("Lcom/android/volley/toolbox/StringRequest;", "<init>"): "network",
    ("Lcom/android/volley/toolbox/JsonObjectRequest;", "<init>"): "network",
    ("Lcom/android/volley/toolbox/JsonArrayRequest;", "<init>"): "network",
    ("Lcom/android/volley/RequestQueue;", "add"): "network",
    ("Lorg/chromium/net/CronetEngine;", "newUrlRequestBuilder"): "network",
    ("Lorg/chromium/net/UrlRequest$Builder;", "addHeader"): "network",
    ("Lorg/chromium/net/UploadDataProviders;", "create"): "network",
    ("Ljava/net/DatagramPacket;", "<init>"): "network",
    ("Ljava/net/DatagramSocket;", "send"): "network",
    ("Ljava/nio/channels/SocketChannel;", "write"): "network",
    ("Ljava/nio/channels/DatagramChannel;", "send"): "network",
    ("Landroid/webkit/WebView;", "loadUrl"): "webview",
    ("Landroid/webkit/WebView;", "postUrl"): "webview",
    ("Landroid/webkit/WebView;", "loadData"): "webview",
    ("Landroid/webkit/WebView;", "loadDataWithBaseURL"): "webview",
    ("Landroid/webkit/WebView;", "evaluateJavascript"): "webview",
    ("Landroid/telephony/SmsManager;", "sendTextMessage"): "sms",
    ("Landroid/telephony/SmsManager;", "sendMultipartTextMessage"): "sms",
    ("Landroid/telephony/SmsManager;", "sendDataMessage"): "sms",
    ("Landroid/content/Context;", "sendBroadcast"): "ipc",
    ("Landroid/content/Context;", "sendOrderedBroadcast"): "ipc",
    ("Landroid/content/Context;", "startService"): "ipc",
    ("Landroid/content/Context;", "startActivity"): "ipc",
    ("Landroid/app/Activity;", "startActivity"): "ipc",
    ("Landroid/app/Activity;", "setResult"): "ipc",
    ("Landroid/content/ContentResolver;", "insert"): "storage",
    ("Landroid/content/ContentResolver;", "update"): "storage",
    ("Landroid/util/Log;", "d"): "log",
    ("Landroid/util/Log;", "i"): "log",
    ("Landroid/util/Log;", "v"): "log",
    ("Landroid/util/Log;", "w"): "log",
    ("Landroid/util/Log;", "e"): "log",
}
"""(class as referenced, method name) -> kind of sink; a tainted argument other than the receiver is a flow."""

# Instruction kinds produced by the decoder.
_INV, _MR, _MOVE, _KILL, _PUT, _SGET, _RET, _BIN = range(8)

_Insn = tuple[int, int, int, int, tuple[int, ...]]
"""(kind, a, b, c, registers): meanings per kind, see ``_decode``."""


def _payload_size(unit: int, data: bytes, pos: int) -> int:
    if unit == 0x0100:
        return 4 + 2 * int.from_bytes(data[pos + 2 : pos + 4], "little")
    if unit == 0x0200:
        return 2 + 4 * int.from_bytes(data[pos + 2 : pos + 4], "little")
    width = int.from_bytes(data[pos + 2 : pos + 4], "little")
    count = int.from_bytes(data[pos + 4 : pos + 8], "little")
    return 4 + (width * count + 1) // 2


def _decode(data: bytes, start: int, n_units: int) -> Iterator[_Insn]:
    """The register effects of each instruction that matters for taint; stops at anything unreadable."""
    from appvet.android.dex import WIDTHS

    pc = 0
    while pc < n_units:
        pos = start + 2 * pc
        u0 = data[pos] | data[pos + 1] << 8
        op = u0 & 0xFF
        if op == 0 and u0 in (0x0100, 0x0200, 0x0300):
            if n_units - pc < 4:
                return
            pc += _payload_size(u0, data, pos)
            continue
        width = WIDTHS[op]
        if width == 0 or pc + width > n_units:
            return
        hi = u0 >> 8
        u1 = data[pos + 2] | data[pos + 3] << 8 if width > 1 else 0
        if op in (0x01, 0x04, 0x07):
            yield _MOVE, hi & 0xF, u0 >> 12, 0, ()
        elif op in (0x02, 0x05, 0x08):
            yield _MOVE, hi, u1, 0, ()
        elif op in (0x03, 0x06, 0x09):
            yield _MOVE, u1, data[pos + 4] | data[pos + 5] << 8, 0, ()
        elif 0x0A <= op <= 0x0C:
            yield _MR, hi, 0, 0, ()
        elif op == 0x0D or 0x13 <= op <= 0x1C or op == 0x22:
            yield _KILL, hi, 0, 0, ()
        elif 0x0F <= op <= 0x11:
            yield _RET, hi, 0, 0, ()
        elif op in (0x12, 0x20, 0x21, 0x23):
            yield _KILL, hi & 0xF, 0, 0, ()
        elif 0x44 <= op <= 0x4A:  # aget: dest <- array
            yield _MOVE, hi, u1 & 0xFF, 0, ()
        elif 0x4B <= op <= 0x51:  # aput: array <- src
            yield _PUT, hi, u1 & 0xFF, 0, ()
        elif 0x52 <= op <= 0x58:  # iget: dest <- object
            yield _MOVE, hi & 0xF, u0 >> 12, 0, ()
        elif 0x59 <= op <= 0x5F:  # iput: object <- src
            yield _PUT, hi & 0xF, u0 >> 12, 0, ()
        elif 0x60 <= op <= 0x66:
            yield _SGET, hi, u1, 0, ()
        elif 0x6E <= op <= 0x72:
            u2 = data[pos + 4] | data[pos + 5] << 8
            regs = (u2 & 0xF, (u2 >> 4) & 0xF, (u2 >> 8) & 0xF, u2 >> 12, hi & 0xF)[: u0 >> 12]
            yield _INV, u1, int(op == 0x71), 0, regs
        elif 0x74 <= op <= 0x78:
            first = data[pos + 4] | data[pos + 5] << 8
            yield _INV, u1, int(op == 0x77), 0, tuple(range(first, first + hi))
        elif 0x7B <= op <= 0x8F or 0xB0 <= op <= 0xCF:  # unop, binop/2addr
            a, b = hi & 0xF, u0 >> 12
            yield (_MOVE, a, b, 0, ()) if op <= 0x8F else (_BIN, a, a, b, ())
        elif 0x90 <= op <= 0xAF:
            yield _BIN, hi, u1 & 0xFF, u1 >> 8, ()
        elif 0xD0 <= op <= 0xD7:
            yield _MOVE, hi & 0xF, u0 >> 12, 0, ()
        elif 0xD8 <= op <= 0xE2:
            yield _MOVE, hi, u1 & 0xFF, 0, ()
        pc += width


@dataclass(frozen=True)
class _Source:
    category: str
    api: str
    chain: tuple[int, ...]
    """Method ids from the one calling the API to the one holding the value."""


@dataclass(frozen=True)
class _Sink:
    api: str
    kind: str
    chain: tuple[int, ...]
    """Method ids from the one receiving the value to the one calling the sink API."""


@dataclass
class _State:
    sources: list[_Source] = field(default_factory=list)
    source_ids: dict[_Source, int] = field(default_factory=dict)
    sinks: list[_Sink] = field(default_factory=list)
    sink_ids: dict[_Sink, int] = field(default_factory=dict)
    returns: dict[int, frozenset[int]] = field(default_factory=dict)
    """Method -> source ids its return value can carry."""
    param_sinks: dict[int, dict[int, frozenset[int]]] = field(default_factory=dict)
    """Method -> parameter register offset -> sink ids it reaches."""
    found: dict[tuple[int, int], None] = field(default_factory=dict)
    """(source id, sink id) pairs that meet."""
    label_cut: int = 0

    def source(self, s: _Source) -> int:
        sid = self.source_ids.get(s)
        if sid is None:
            sid = self.source_ids[s] = len(self.sources)
            self.sources.append(s)
        return sid

    def sink(self, k: _Sink) -> int:
        kid = self.sink_ids.get(k)
        if kid is None:
            kid = self.sink_ids[k] = len(self.sinks)
            self.sinks.append(k)
        return kid


_Label = tuple[int, int]
"""(0, source id) or (1, parameter register offset)."""


class _Analyser:
    def __init__(self, facts: AppFacts, kb: KnowledgeBase, reach: Reach) -> None:
        self.facts, self.kb, self.reach = facts, kb, reach
        self.state = _State()
        self.where: dict[int, tuple[int, int, int]] = {}  # gid -> (unit, method idx, code_off)
        self.refs: list[list[tuple[str, str, str]]] = []
        self.source_cats: list[dict[int, str]] = []  # per unit: method idx -> category
        self.field_cats: list[dict[int, tuple[str, str]]] = []  # per unit: field idx -> (category, label)
        self.sink_of: list[dict[int, tuple[str, str]]] = []  # per unit: method idx -> (api, kind)
        self.done: set[int] = set()
        self.active: set[int] = set()
        self.count = 0
        self.depth_cut = 0
        self.started = time.monotonic()
        for i, unit in enumerate(facts.dex):
            dex = unit.dex
            local = reach.graph.local_ids[i]
            for idx, off in dex.code_offsets().items():
                self.where.setdefault(local[idx], (i, idx, off))
            refs = dex.method_refs()
            self.refs.append(refs)
            cats: dict[int, str] = {}
            sinks: dict[int, tuple[str, str]] = {}
            for idx in set(dex.scan_code().invoke_callee):
                cls, name, _proto = refs[idx]
                found = kb.method_categories(cls, name)
                if found:
                    cats[idx] = found[0]
                kind = SINKS.get((cls, name))
                if kind is not None:
                    sinks[idx] = (f"{cls}->{name}", kind)
            fcats: dict[int, tuple[str, str]] = {}
            fields = dex.field_refs()
            for fidx in set(dex.scan_code().field_ref):
                cls, name, _type = fields[fidx]
                found = kb.field_categories(cls, name)
                if found:
                    fcats[fidx] = (found[0], f"{cls}->{name}")
            self.source_cats.append(cats)
            self.field_cats.append(fcats)
            self.sink_of.append(sinks)

    def over_budget(self) -> bool:
        return self.count >= MAX_METHODS or time.monotonic() - self.started > MAX_SECONDS

    def seeds(self) -> set[int]:
        """Methods calling a source API or reading a sensitive field directly.

        Sinks are not seeds: a method whose tainted argument may reach a sink is analysed on
        demand when a tainted value is passed to it, which keeps the work near the sources.
        """
        out: set[int] = set()
        for i, unit in enumerate(self.facts.dex):
            local = self.reach.graph.local_ids[i]
            refs = unit.dex.scan_code()
            wanted = self.source_cats[i].keys()
            for caller, callee in zip(refs.invoke_caller, refs.invoke_callee, strict=True):
                if callee in wanted:
                    out.add(local[caller])
            if self.field_cats[i]:
                for caller, fidx in zip(refs.field_caller, refs.field_ref, strict=True):
                    if fidx in self.field_cats[i]:
                        out.add(local[caller])
        return out

    def _cap(self, labels: frozenset[_Label]) -> frozenset[_Label]:
        if len(labels) <= MAX_LABELS:
            return labels
        self.state.label_cut += 1
        return frozenset(sorted(labels)[:MAX_LABELS])

    def analyse(self, gid: int, depth: int = 0) -> bool:
        """Run one method; True if its summaries changed. Callees given a tainted value are run first."""
        loc = self.where.get(gid)
        if loc is None:
            return False
        self.count += 1
        self.done.add(gid)
        self.active.add(gid)
        try:
            return self._analyse(gid, depth, loc)
        finally:
            self.active.discard(gid)

    def _analyse(self, gid: int, depth: int, loc: tuple[int, int, int]) -> bool:
        i, _idx, off = loc
        dex = self.facts.dex[i].dex
        registers, ins, n_units = dex.code_units(off)
        local = self.reach.graph.local_ids[i]
        refs, cats, sinks, fcats = self.refs[i], self.source_cats[i], self.sink_of[i], self.field_cats[i]
        st = self.state
        dispatch = self.reach.graph.dispatch
        first_param = registers - ins
        taint: dict[int, frozenset[_Label]] = {first_param + p: frozenset({(1, p)}) for p in range(ins)}
        pending: frozenset[_Label] = frozenset()
        returns: set[int] = set()
        param_sinks: dict[int, set[int]] = {}
        empty: frozenset[_Label] = frozenset()

        def at_sink(labels: frozenset[_Label], kid: int) -> None:
            for kind, value in labels:
                if kind == 0:
                    st.found.setdefault((value, kid), None)
                else:
                    param_sinks.setdefault(value, set()).add(kid)

        for kind, a, b, c, regs in _decode(dex.data, off + 16, n_units):
            result = pending
            pending = empty
            if kind == _INV:
                callee = a
                args = [taint.get(r, empty) for r in regs]
                start = 0 if b else 1  # the receiver of an instance call is not "data sent"
                cat = cats.get(callee)
                if cat is not None:
                    cls, name, _p = refs[callee]
                    pending = frozenset({(0, st.source(_Source(cat, f"{cls}->{name}", (gid,))))})
                sink = sinks.get(callee)
                if sink is not None:
                    kid = st.sink(_Sink(sink[0], sink[1], (gid,)))
                    for labels in args[start:]:
                        if labels:
                            at_sink(labels, kid)
                # An index past the method table (hostile code) is an unknown call: no summary, no dispatch.
                targets = dispatch.get(local[callee], ()) if callee < len(local) else ()
                # Descend for a value from a source; for a parameter only when this method was itself
                # entered because a tainted value was passed to it (depth > 0).
                if targets and any(lk == 0 or depth for labels in args for lk, _v in labels):
                    for target in targets:
                        if target in self.done or target in self.active:
                            continue
                        if depth < MAX_ROUNDS and not self.over_budget():
                            self.analyse(target, depth + 1)
                        else:
                            self.depth_cut += 1
                for target in targets:
                    for sid in st.returns.get(target, ()):
                        src = st.sources[sid]
                        if len(src.chain) < MAX_PATH:
                            pending |= {(0, st.source(_Source(src.category, src.api, (*src.chain, gid))))}
                    for pos, kids in st.param_sinks.get(target, {}).items():
                        if pos < len(args) and args[pos]:
                            for kid in kids:
                                k = st.sinks[kid]
                                if len(k.chain) < MAX_PATH:
                                    at_sink(args[pos], st.sink(_Sink(k.api, k.kind, (gid, *k.chain))))
                if any(args) and sink is None:
                    merged = frozenset().union(*args)
                    pending = self._cap(pending | merged)
                    if not b and regs:
                        taint[regs[0]] = self._cap(taint.get(regs[0], empty) | frozenset().union(*args[1:]))
            elif kind == _MR:
                if result:
                    taint[a] = result
                else:
                    taint.pop(a, None)
            elif kind == _MOVE:
                if b in taint:
                    taint[a] = taint[b]
                else:
                    taint.pop(a, None)
            elif kind == _BIN:
                merged = taint.get(b, empty) | taint.get(c, empty)
                if merged:
                    taint[a] = self._cap(merged)
                else:
                    taint.pop(a, None)
            elif kind == _KILL:
                taint.pop(a, None)
            elif kind == _PUT:
                if a in taint:
                    taint[b] = self._cap(taint.get(b, empty) | taint[a])
            elif kind == _SGET:
                hit = fcats.get(b)
                if hit is not None:
                    taint[a] = frozenset({(0, st.source(_Source(hit[0], hit[1], (gid,))))})
                else:
                    taint.pop(a, None)
            elif kind == _RET:
                for lk, value in taint.get(a, empty):
                    if lk == 0:
                        returns.add(value)
        changed = False
        if returns:
            new = frozenset(returns)
            if st.returns.get(gid) != new:
                st.returns[gid] = new
                changed = True
        if param_sinks:
            new_ps = {p: frozenset(k) for p, k in param_sinks.items()}
            if st.param_sinks.get(gid) != new_ps:
                st.param_sinks[gid] = new_ps
                changed = True
        return changed


def find(facts: AppFacts, kb: KnowledgeBase, attribution: Attribution,
         reach: Reach | None) -> tuple[list[CodeFlow], list[Skip]]:
    """Flows from sensitive APIs to sinks, with the holder of each step; Skips where a bound cut."""
    if reach is None or not facts.dex:
        return [], ([Skip("data flows", "no call graph; flows not computed", STAGE)] if facts.dex else [])
    skips: list[Skip] = []
    try:
        an = _Analyser(facts, kb, reach)
        todo = an.seeds()
    except FormatError as exc:
        return [], [Skip("data flows", f"{exc.message}; flows not computed", STAGE)]
    pred: dict[int, list[int]] | None = None
    for round_no in range(MAX_ROUNDS + 1):
        changed: set[int] = set()
        for gid in sorted(todo):
            if an.over_budget():
                skips.append(Skip("data flows", f"stopped after {an.count:,} methods "
                                  f"({MAX_METHODS:,} methods / {MAX_SECONDS:g} s bound); later flows not searched",
                                  STAGE))
                todo = set()
                break
            try:
                if an.analyse(gid):
                    changed.add(gid)
            except FormatError as exc:
                skips.append(Skip(reach.graph.labels[gid], f"not analysed for flows: {exc.message}", STAGE))
        if not changed or not todo:
            break
        if round_no == MAX_ROUNDS:
            skips.append(Skip("data flows", f"summaries of {len(changed)} methods not followed to their callers: "
                              f"call depth bound ({MAX_ROUNDS}) reached", STAGE))
            break
        if pred is None:
            pred = {}
            for u, vs in enumerate(reach.graph.succ):
                for v in vs:
                    pred.setdefault(v, []).append(u)
        todo = {p for g in changed for p in pred.get(g, ())}
    if an.depth_cut:
        skips.append(Skip("data flows", f"{an.depth_cut} calls passing a tainted value were not followed: call "
                          f"depth ({MAX_ROUNDS}) or method bound reached", STAGE))
    if an.state.label_cut:
        skips.append(Skip("data flows", f"{an.state.label_cut} registers held more than {MAX_LABELS} sources; "
                          "extra sources dropped there", STAGE))
    return _report(an, attribution, skips)


def _report(an: _Analyser, attribution: Attribution, skips: list[Skip]) -> tuple[list[CodeFlow], list[Skip]]:
    graph, st, reach = an.reach.graph, an.state, an.reach
    holder_of: dict[int, str] = {}

    def holder(gid: int) -> str:
        h = holder_of.get(gid)
        if h is None:
            h = holder_of[gid] = attribution.holder(dotted(graph.classes[gid]))
        return h

    best: dict[tuple[str, str, str, str, str], tuple[int, tuple[int, ...], int]] = {}
    for sid, kid in st.found:
        src, snk = st.sources[sid], st.sinks[kid]
        path = src.chain + snk.chain[1:]
        key = (src.category, src.api, snk.api, holder(src.chain[0]), holder(snk.chain[-1]))
        old = best.get(key)
        if old is None or len(path) < len(old[1]):
            best[key] = (len(src.chain) - 1, path, kid)
    flows = []
    for (category, api, sink_api, _h0, _h1), (meet, path, kid) in sorted(best.items()):
        steps = tuple(
            FlowStep(graph.labels[g], holder(g), "source" if n == 0 else "sink" if n == len(path) - 1 else "via")
            for n, g in enumerate(path)
        )
        dex_path = [an.facts.dex[an.where[g][0]].path for g in path]
        evidence = (
            Evidence("dex", dex_path[meet], graph.labels[path[meet]], f"{api} -> {sink_api}"),
            *(Evidence("dex", dex_path[n], step.method, f"{step.role} ({step.holder})")
              for n, step in enumerate(steps) if n != meet),
        )
        flows.append(CodeFlow(
            category=category, source=api, sink=sink_api, sink_kind=st.sinks[kid].kind, steps=steps,
            confidence="reachable" if reach.reached(path[meet]) else "present", evidence=evidence,
        ))
    if len(flows) > MAX_FLOWS:
        skips.append(Skip("data flows", f"{len(flows) - MAX_FLOWS} more flows not listed", STAGE))
        flows = flows[:MAX_FLOWS]
    return flows, skips

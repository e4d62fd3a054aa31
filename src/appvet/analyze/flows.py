"""Paths in code from a sensitive API to an API that sends data off the device.

Inside a method, registers are followed in instruction order: a value returned by a sensitive
API (or read from a sensitive field) is tainted; moves, casts, arithmetic, array and field stores
pass taint on; a call with a tainted argument taints its result and its receiver (a
``StringBuilder``, ``JSONObject``, ``Intent`` or request builder that took the value now holds
it). Branches are not told apart: a value tainted on one branch stays tainted after it, which
over-approximates. Across calls, each method gets two summaries, computed in rounds from the
methods that touch a source or a sink upward through their callers: "returns a value from
source S" and "passes its parameter i to sink K". The number of rounds (the call depth a flow
may span), the methods analysed, the instructions read and the facts kept are bounded, so the
result depends on the input only, never on the machine's speed; a wall-clock guard stays as a
last resort and says so when it trips. What a bound cut is reported as a Skip with stage
``flows`` saying how much was covered, never dropped silently.

Sinks are APIs that send what they are given off the device or to another app: HTTP clients
(HttpURLConnection streams, OkHttp, Volley, Cronet), sockets, WebView URLs and JavaScript, SMS,
IPC intents, content providers (shared storage), and the system log.
"""

from __future__ import annotations

from array import array
from collections.abc import Iterator
from dataclasses import dataclass, field

from appvet.analyze.interface import AppFacts
from appvet.analyze.reachability import Reach
from appvet.analyze.sdks import Attribution, dotted
from appvet.errors import FormatError
from appvet.ingest.interface import Budget
from appvet.kb import KnowledgeBase
from appvet.model import CodeFlow, Evidence, FlowStep, Skip

STAGE = "flows"
MAX_ROUNDS = 4
"""Calls a flow may span beyond the method where source and sink meet, on each side."""
MAX_METHODS = 20_000
MAX_WORK = 4_000_000
"""Instructions read, summed over every method analysed (a method read again counts again)."""
MAX_STORED = 2_000_000
"""Facts kept across methods (chain entries, summary entries, meetings): the stage's memory bound.
A fact costs well under 100 bytes, so this keeps the stage's own memory under about 200 MB."""
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


_SourceKey = tuple[str, str, str]
"""(category, source API, holder of the method calling it): what a reported flow starts from."""
_SinkKey = tuple[str, str, str]
"""(sink API, sink kind, holder of the method calling it): what a reported flow ends at."""


@dataclass(frozen=True)
class _Source:
    category: str
    api: str
    chain: tuple[int, ...]
    """Method ids from the one calling the API to the one holding the value."""
    key: int
    """Index of its ``_SourceKey``."""


@dataclass(frozen=True)
class _Sink:
    api: str
    kind: str
    chain: tuple[int, ...]
    """Method ids from the one receiving the value to the one calling the sink API."""
    key: int
    """Index of its ``_SinkKey``."""


@dataclass
class _State:
    """What outlives one method: interned sources and sinks, the summaries, the flows found.

    Summaries keep one witness chain per key, not one per path: the number of paths through a
    call graph grows exponentially with its depth, while the keys a report can show are bounded
    by the source and sink APIs and the holders of the code calling them.
    """

    sources: list[_Source] = field(default_factory=list)
    source_ids: dict[tuple[int, tuple[int, ...]], int] = field(default_factory=dict)
    source_keys: list[_SourceKey] = field(default_factory=list)
    source_key_ids: dict[_SourceKey, int] = field(default_factory=dict)
    sinks: list[_Sink] = field(default_factory=list)
    sink_ids: dict[tuple[int, tuple[int, ...]], int] = field(default_factory=dict)
    sink_keys: list[_SinkKey] = field(default_factory=list)
    sink_key_ids: dict[_SinkKey, int] = field(default_factory=dict)
    returns: dict[int, tuple[int, ...]] = field(default_factory=dict)
    """Method -> source ids its return value can carry (one per source key)."""
    param_sinks: dict[int, dict[int, tuple[int, ...]]] = field(default_factory=dict)
    """Method -> parameter register offset -> sink ids it reaches (one per sink key)."""
    found: dict[tuple[int, int], tuple[int, int, int]] = field(default_factory=dict)
    """(source key, sink key) -> (path length, source id, sink id) of the shortest meeting seen."""
    label_cut: int = 0
    stored: int = 0
    """Facts kept beyond the method being read (chain entries, summary entries): the memory measure."""

    def source(self, category: str, api: str, chain: tuple[int, ...], holder: str) -> int:
        key = (category, api, holder)
        kno = self.source_key_ids.get(key)
        if kno is None:
            kno = self.source_key_ids[key] = len(self.source_keys)
            self.source_keys.append(key)
        ident = (kno, chain)
        sid = self.source_ids.get(ident)
        if sid is None:
            sid = self.source_ids[ident] = len(self.sources)
            self.sources.append(_Source(category, api, chain, kno))
            self.stored += len(chain) + 4
        return sid

    def sink(self, api: str, kind: str, chain: tuple[int, ...], holder: str) -> int:
        key = (api, kind, holder)
        kno = self.sink_key_ids.get(key)
        if kno is None:
            kno = self.sink_key_ids[key] = len(self.sink_keys)
            self.sink_keys.append(key)
        ident = (kno, chain)
        kid = self.sink_ids.get(ident)
        if kid is None:
            kid = self.sink_ids[ident] = len(self.sinks)
            self.sinks.append(_Sink(api, kind, chain, kno))
            self.stored += len(chain) + 4
        return kid

    def extend_source(self, sid: int, gid: int) -> int:
        src = self.sources[sid]
        return self.source(src.category, src.api, (*src.chain, gid), self.source_keys[src.key][2])

    def extend_sink(self, kid: int, gid: int) -> int:
        k = self.sinks[kid]
        return self.sink(k.api, k.kind, (gid, *k.chain), self.sink_keys[k.key][2])

    def meet(self, sid: int, kid: int) -> None:
        src, snk = self.sources[sid], self.sinks[kid]
        pair = (src.key, snk.key)
        length = len(src.chain) + len(snk.chain)
        old = self.found.get(pair)
        if old is None:
            self.stored += 4
        if old is None or length < old[0]:
            self.found[pair] = (length, sid, kid)


# Taint labels are ints: a source id ``s`` is ``2 * s``, parameter ``p`` of the method is ``2 * p + 1``.


def _label_order(label: int) -> tuple[int, int]:
    return (label & 1, label >> 1)


class _Analyser:
    def __init__(self, facts: AppFacts, kb: KnowledgeBase, reach: Reach, attribution: Attribution | None = None,
                 budget: Budget | None = None) -> None:
        self.facts, self.kb, self.reach = facts, kb, reach
        self.attribution = attribution
        self.budget = budget
        self.state = _State()
        n = len(reach.graph.labels)
        # gid -> where its code is; arrays, not a dict of tuples: one entry per method of the app.
        self.unit_of = array("h", [-1]) * n
        self.code_of = array("q", [0]) * n
        self.refs: list[list[tuple[str, str, str]]] = []
        self.source_cats: list[dict[int, str]] = []  # per unit: method idx -> category
        self.field_cats: list[dict[int, tuple[str, str]]] = []  # per unit: field idx -> (category, label)
        self.sink_of: list[dict[int, tuple[str, str]]] = []  # per unit: method idx -> (api, kind)
        self.holder_of: dict[int, str] = {}
        self.done: set[int] = set()
        self.active: set[int] = set()
        self.count = 0
        self.work = 0
        """Instructions read: the work measure."""
        self.depth_cut = 0
        self.stopped = ""
        """Why the search stopped early: ``work``, ``memory``, ``methods`` or ``time`` ("" if it did not)."""
        for i, unit in enumerate(facts.dex):
            dex = unit.dex
            local = reach.graph.local_ids[i]
            for idx, off in dex.code_offsets().items():
                gid = local[idx]
                if self.unit_of[gid] < 0:
                    self.unit_of[gid] = i
                    self.code_of[gid] = off
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

    def holder(self, gid: int) -> str:
        h = self.holder_of.get(gid)
        if h is None:
            cls = dotted(self.reach.graph.classes[gid])
            h = self.holder_of[gid] = self.attribution.holder(cls) if self.attribution is not None else cls
        return h

    def over_budget(self) -> bool:
        """True once a bound is reached; the work and memory bounds decide, the clock only as a guard."""
        if self.stopped:
            return True
        if self.count >= MAX_METHODS:
            self.stopped = "methods"
        elif self.work >= MAX_WORK:
            self.stopped = "work"
        elif self.state.stored >= MAX_STORED:
            self.stopped = "memory"
        elif self.budget is not None and self.budget.exceeded():
            self.stopped = "time"
        return bool(self.stopped)

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

    def _cap(self, labels: frozenset[int]) -> frozenset[int]:
        if len(labels) <= MAX_LABELS:
            return labels
        self.state.label_cut += 1
        return frozenset(sorted(labels, key=_label_order)[:MAX_LABELS])

    def analyse(self, gid: int, depth: int = 0) -> bool:
        """Run one method; True if its summaries changed. Callees given a tainted value are run first."""
        unit = self.unit_of[gid] if 0 <= gid < len(self.unit_of) else -1
        if unit < 0:
            return False
        self.count += 1
        self.done.add(gid)
        self.active.add(gid)
        try:
            return self._analyse(gid, depth, unit, self.code_of[gid])
        finally:
            self.active.discard(gid)

    def _analyse(self, gid: int, depth: int, i: int, off: int) -> bool:
        dex = self.facts.dex[i].dex
        registers, ins, n_units = dex.code_units(off)
        local = self.reach.graph.local_ids[i]
        refs, cats, sinks, fcats = self.refs[i], self.source_cats[i], self.sink_of[i], self.field_cats[i]
        st = self.state
        dispatch = self.reach.graph.dispatch
        first_param = registers - ins
        # Per-method state (taint, pending, what this method returns and passes on) lives in locals
        # and is dropped when the method is done; only the summaries below are kept.
        taint: dict[int, frozenset[int]] = {first_param + p: frozenset({2 * p + 1}) for p in range(ins)}
        pending: frozenset[int] = frozenset()
        returns: dict[int, int] = {}  # source key -> source id
        param_sinks: dict[int, dict[int, int]] = {}  # parameter -> sink key -> sink id
        empty: frozenset[int] = frozenset()
        read = 0

        def at_sink(labels: frozenset[int], kid: int) -> None:
            for label in labels:
                if label & 1:
                    row = param_sinks.setdefault(label >> 1, {})
                    row.setdefault(st.sinks[kid].key, kid)
                else:
                    st.meet(label >> 1, kid)

        for kind, a, b, c, regs in _decode(dex.data, off + 16, n_units):
            read += 1
            result = pending
            pending = empty
            if kind == _INV:
                callee = a
                args = [taint.get(r, empty) for r in regs]
                start = 0 if b else 1  # the receiver of an instance call is not "data sent"
                cat = cats.get(callee)
                if cat is not None:
                    cls, name, _p = refs[callee]
                    pending = frozenset({2 * st.source(cat, f"{cls}->{name}", (gid,), self.holder(gid))})
                sink = sinks.get(callee)
                if sink is not None:
                    kid = st.sink(sink[0], sink[1], (gid,), self.holder(gid))
                    for labels in args[start:]:
                        if labels:
                            at_sink(labels, kid)
                # An index past the method table (hostile code) is an unknown call: no summary, no dispatch.
                targets = dispatch.get(local[callee], ()) if callee < len(local) else ()
                # Descend for a value from a source; for a parameter only when this method was itself
                # entered because a tainted value was passed to it (depth > 0).
                if targets and any(not label & 1 or depth for labels in args for label in labels):
                    for target in targets:
                        if target in self.done or target in self.active:
                            continue
                        if depth < MAX_ROUNDS and not self.over_budget():
                            self.work += read
                            read = 0
                            self.analyse(target, depth + 1)
                        else:
                            self.depth_cut += 1
                for target in targets:
                    rets = st.returns.get(target)
                    if rets:
                        extra = []
                        for sid in rets:
                            if len(st.sources[sid].chain) < MAX_PATH:
                                extra.append(2 * st.extend_source(sid, gid))
                        if extra:
                            pending = self._cap(pending | frozenset(extra))
                    psinks = st.param_sinks.get(target)
                    if psinks:
                        for pos, kids in psinks.items():
                            if pos < len(args) and args[pos]:
                                for kid in kids:
                                    if len(st.sinks[kid].chain) < MAX_PATH:
                                        at_sink(args[pos], st.extend_sink(kid, gid))
                if sink is None and any(args):
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
                    taint[a] = frozenset({2 * st.source(hit[0], hit[1], (gid,), self.holder(gid))})
                else:
                    taint.pop(a, None)
            elif kind == _RET:
                for label in taint.get(a, empty):
                    if not label & 1:
                        returns.setdefault(st.sources[label >> 1].key, label >> 1)
        self.work += read
        changed = False
        if returns:
            new = tuple(sorted(returns.values()))
            if st.returns.get(gid) != new:
                st.stored += len(new) - len(st.returns.get(gid, ()))
                st.returns[gid] = new
                changed = True
        if param_sinks:
            new_ps = {p: tuple(sorted(row.values())) for p, row in sorted(param_sinks.items())}
            if st.param_sinks.get(gid) != new_ps:
                st.stored += sum(map(len, new_ps.values())) - sum(map(len, st.param_sinks.get(gid, {}).values()))
                st.param_sinks[gid] = new_ps
                changed = True
        return changed


def find(facts: AppFacts, kb: KnowledgeBase, attribution: Attribution,
         reach: Reach | None, budget: Budget | None = None) -> tuple[list[CodeFlow], list[Skip]]:
    """Flows from sensitive APIs to sinks, with the holder of each step; Skips where a bound cut.

    The search is bounded by counted work (instructions read, methods analysed) and by the facts
    it keeps (its memory), so the same input gives the same flows however busy the machine is;
    ``budget``'s seconds are only a last-resort guard, reported as such when they trip.
    """
    if reach is None or not facts.dex:
        return [], ([Skip("data flows", "no call graph; flows not computed", STAGE)] if facts.dex else [])
    skips: list[Skip] = []
    try:
        an = _Analyser(facts, kb, reach, attribution, budget)
        todo = an.seeds()
    except FormatError as exc:
        return [], [Skip("data flows", f"{exc.message}; flows not computed", STAGE)]
    seeds = len(todo)
    seeds_done = 0
    for round_no in range(MAX_ROUNDS + 1):
        changed: set[int] = set()
        for gid in sorted(todo):
            if an.over_budget():
                skips.append(Skip("data flows", _stop_reason(an, seeds_done, seeds), STAGE))
                todo = set()
                break
            try:
                if an.analyse(gid):
                    changed.add(gid)
            except FormatError as exc:
                skips.append(Skip(reach.graph.labels[gid], f"not analysed for flows: {exc.message}", STAGE))
            if round_no == 0:
                seeds_done += 1
        if not changed or not todo:
            break
        if round_no == MAX_ROUNDS:
            skips.append(Skip("data flows", f"summaries of {len(changed)} methods not followed to their callers: "
                              f"call depth bound ({MAX_ROUNDS}) reached", STAGE))
            break
        # The callers of what changed: one C-level set test per method, no reverse graph kept in memory.
        todo = {u for u, vs in enumerate(reach.graph.succ) if vs and not changed.isdisjoint(vs)}
    if an.depth_cut:
        skips.append(Skip("data flows", f"{an.depth_cut} calls passing a tainted value were not followed: call "
                          f"depth ({MAX_ROUNDS}) or a search bound reached", STAGE))
    if an.state.label_cut:
        skips.append(Skip("data flows", f"{an.state.label_cut} registers held more than {MAX_LABELS} sources; "
                          "extra sources dropped there", STAGE))
    return _report(an, skips)


def _stop_reason(an: _Analyser, seeds_done: int, seeds: int) -> str:
    covered = (f"stopped after {an.count:,} methods and {an.work:,} instructions, {seeds_done:,} of {seeds:,} "
               "methods reading a source searched")
    bound = {
        "methods": f"method bound of {MAX_METHODS:,}",
        "work": f"work bound of {MAX_WORK:,} instructions",
        "memory": f"memory bound of {MAX_STORED:,} stored facts",
        "time": (f"time guard of {an.budget.seconds:g} s, a last-resort bound: this result may differ on a "
                 "faster machine" if an.budget is not None else "time guard"),
    }[an.stopped]
    return f"{covered} ({bound}); later flows not searched"


def _report(an: _Analyser, skips: list[Skip]) -> tuple[list[CodeFlow], list[Skip]]:
    graph, st, reach = an.reach.graph, an.state, an.reach
    best: dict[tuple[str, str, str, str, str], tuple[int, tuple[int, ...], int]] = {}
    for (skey, kkey), (_length, sid, kid) in st.found.items():
        src, snk = st.sources[sid], st.sinks[kid]
        path = src.chain + snk.chain[1:]
        category, api, h0 = st.source_keys[skey]
        sink_api, _kind, h1 = st.sink_keys[kkey]
        key = (category, api, sink_api, h0, h1)
        old = best.get(key)
        if old is None or len(path) < len(old[1]):
            best[key] = (len(src.chain) - 1, path, kid)
    flows = []
    for (category, api, sink_api, _h0, _h1), (meet, path, kid) in sorted(best.items()):
        steps = tuple(
            FlowStep(graph.labels[g], an.holder(g), "source" if n == 0 else "sink" if n == len(path) - 1 else "via")
            for n, g in enumerate(path)
        )
        dex_path = [an.facts.dex[an.unit_of[g]].path for g in path]
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

"""Java ``native`` methods tied to the library code behind them, and identifier reads in that code.

The JNI specification ("Resolving Native Method Names") names the function behind a native
method ``Java_<class>_<method>`` (``__<argument types>`` when overloaded), with ``_1`` for ``_``,
``_2`` for ``;``, ``_3`` for ``[`` and ``_0xxxx`` for other characters. Those names are in the
library's dynamic string table, which ``facts`` already extracted, so no symbol table walk is
needed. A library exporting ``JNI_OnLoad`` may instead register natives at load time with
``RegisterNatives``; a native method without an export is tied to such a library when its
class loads it with ``System.loadLibrary`` (the ``const-string`` naming it is in the class).

Library code counts as reachable when one of the Java native methods bound to it is: the
identifier paths found in a library (``/sys/class/net/*/address``, ``/proc/net/arp``, ...) are
then reported ``reachable`` with the path to that native method. Which native function reads
the path is not known; the evidence says so.
"""

from __future__ import annotations

from collections import defaultdict
from pathlib import PurePosixPath

from appvet.analyze.behaviours import CHANGES_AFTER_REVIEW, TITLES, string_behaviour
from appvet.analyze.interface import AppFacts, NativeLib
from appvet.analyze.reachability import Reach
from appvet.analyze.sdks import Attribution, dotted
from appvet.kb import KnowledgeBase
from appvet.model import FIRST_PARTY, Behaviour, Evidence, NativeMethod

ACC_NATIVE = 0x100
JNI_ONLOAD = "JNI_OnLoad"
_ESCAPES = {"1": "_", "2": ";", "3": "["}


def demangle(symbol: str) -> tuple[str, str, str | None] | None:
    """``Java_a_b_C_m__I`` -> (``La/b/C;``, ``m``, ``I``); ``None`` if not a JNI name."""
    if not symbol.startswith("Java_"):
        return None
    text = symbol[5:]
    parts: list[str] = []
    cur: list[str] = []
    i = 0
    while i < len(text):
        ch = text[i]
        if ch != "_":
            cur.append(ch)
            i += 1
            continue
        nxt = text[i + 1 : i + 2]
        if nxt in _ESCAPES:
            cur.append(_ESCAPES[nxt])
            i += 2
        elif nxt == "0":
            code = text[i + 2 : i + 6]
            if len(code) != 4 or any(c not in "0123456789abcdefABCDEF" for c in code):
                return None
            cur.append(chr(int(code, 16)))
            i += 6
        else:
            parts.append("".join(cur))
            cur = []
            i += 1
    parts.append("".join(cur))
    args = None
    if "" in parts[1:]:
        cut = parts.index("", 1)
        args = "/".join(parts[cut + 1 :])
        parts = parts[:cut]
    if len(parts) < 2 or not all(parts):
        return None
    return "L" + "/".join(parts[:-1]) + ";", parts[-1], args


def _lib_holder(lib: NativeLib, kb: KnowledgeBase, bound_holders: set[str]) -> str:
    sdk = kb.sdk_for_native_lib(lib.name)
    if sdk is not None:
        return sdk
    third = sorted(h for h in bound_holders if h != FIRST_PARTY)
    return third[0] if len(third) == 1 and len(bound_holders) == 1 else FIRST_PARTY


def bind(facts: AppFacts, reach: Reach | None) -> list[NativeMethod]:
    """Every native method declared in the dex files and where its code is, when found."""
    exports: dict[tuple[str, str], list[tuple[str | None, str, NativeLib]]] = defaultdict(list)
    onload: dict[str, list[NativeLib]] = defaultdict(list)  # library stem -> libs (one per ABI)
    for lib in facts.native:
        stem = PurePosixPath(lib.name).stem.removeprefix("lib")
        for s in lib.strings:
            if s == JNI_ONLOAD:
                onload[stem].append(lib)
            found = demangle(s) if s.startswith("Java_") else None
            if found is not None:
                exports[(found[0], found[1])].append((found[2], s, lib))
    stems = {PurePosixPath(lib.name).stem.removeprefix("lib") for lib in facts.native}
    out: list[NativeMethod] = []
    seen: set[str] = set()
    for i, unit in enumerate(facts.dex):
        dex = unit.dex
        refs = dex.method_refs()
        natives: list[tuple[str, int]] = []
        for cls, idxs, flags in dex.class_methods():
            natives.extend((cls, idx) for idx, acc in zip(idxs, flags, strict=True) if acc & ACC_NATIVE)
        if not natives:
            continue
        loads = _loaded_by_class(dex, refs, stems)
        for cls, idx in natives:
            _c, name, proto = refs[idx]
            label = f"{cls}->{name}{proto}"
            if label in seen:
                continue
            seen.add(label)
            args = proto[1 : proto.index(")")]
            hits = [(sym, lib) for sig, sym, lib in exports.get((cls, name), ()) if sig is None or sig == args]
            gid = reach.gid(i, idx) if reach is not None else None
            reached = reach is not None and gid is not None and reach.reached(gid)
            witness = reach.witness(gid) if reached and reach is not None and gid is not None else ()
            confidence = "reachable" if reached else "present"
            if hits:
                for sym, lib in sorted(hits, key=lambda h: h[1].path):
                    out.append(NativeMethod(label, lib.path, "export", sym, confidence, witness))
                continue
            loaded = [lib for stem in sorted(loads.get(cls, ())) for lib in onload.get(stem, ())]
            if loaded:
                for lib in sorted(loaded, key=lambda lib: lib.path):
                    out.append(NativeMethod(label, lib.path, JNI_ONLOAD, None, confidence, witness))
            else:
                out.append(NativeMethod(label, None, "unresolved", None, confidence, witness))
    out.sort(key=lambda n: (n.method, n.library or ""))
    return out


def _loaded_by_class(dex, refs, stems: set[str]) -> dict[str, set[str]]:  # type: ignore[no-untyped-def]
    """Class -> library stems named by a const-string in its methods (``System.loadLibrary("x")``)."""
    code = dex.scan_code()
    wanted = {idx for idx in set(code.string_ref) if dex.string(idx) in stems}
    out: dict[str, set[str]] = defaultdict(set)
    if not wanted:
        return out
    for caller, sidx in zip(code.string_caller, code.string_ref, strict=True):
        if sidx in wanted:
            out[refs[caller][0]].add(dex.string(sidx))
    return out


def behaviours(facts: AppFacts, kb: KnowledgeBase, attribution: Attribution, natives: list[NativeMethod],
               ) -> list[Behaviour]:
    """Identifier paths in native libraries, reachable when a Java method bound to the library is."""
    by_lib: dict[str, list[NativeMethod]] = defaultdict(list)
    for n in natives:
        if n.library is not None:
            by_lib[n.library].append(n)
    out = []
    for lib in facts.native:
        bound = by_lib.get(lib.path, [])
        holders = {attribution.holder(dotted(n.method.split("->")[0])) for n in bound}
        holder = _lib_holder(lib, kb, holders)
        reached = sorted((n for n in bound if n.witness), key=lambda n: (len(n.witness), n.method))
        found: dict[str, set[str]] = defaultdict(set)
        for s in lib.strings:
            bid = string_behaviour(s)
            if bid is not None:
                found[bid].add(s)
        for bid, texts in sorted(found.items()):
            evidence = tuple(Evidence("native", lib.path, "string", t) for t in sorted(texts))
            witness: tuple[str, ...] = ()
            if reached:
                witness = (*reached[0].witness, f"runs native code in {lib.name} (the function reading the path "
                                                f"is not identified)")
            out.append(Behaviour(
                id=bid, title=TITLES[bid], holder=holder, holder_package=lib.name, apis=tuple(sorted(texts)),
                confidence="reachable" if witness else "present", evidence=evidence, witness=witness,
                changes_after_review=bid in CHANGES_AFTER_REVIEW,
            ))
    return out

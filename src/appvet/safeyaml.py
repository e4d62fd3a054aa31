"""YAML from people who may be hostile: no aliases, bounded size, node count and nesting, checked cheaply first.

    load(data, max_bytes, max_events=200_000, max_depth=64) -> plain data     ``YamlRefused`` otherwise

Why a pre-scan: PyYAML's scanner keeps per-level state that it walks on every token, so 48 KB of
``[[[[…`` costs tens of seconds before any parser error; and aliases let a few hundred bytes expand
into gigabytes. Nesting is counted on the raw text (flow brackets and block indentation, in one
linear pass) before PyYAML sees it, then aliases and nodes are counted on the event stream.
"""

from __future__ import annotations

from typing import Any


class YamlRefused(ValueError):
    """The text is not loaded; the message says why in one line."""


def nesting(data: bytes) -> int:
    """An upper bound of the document's nesting depth: block levels (indentation, "- " runs) plus
    the flow brackets open on each line. Quotes are not parsed: brackets inside strings count too."""
    deepest = 0
    indents: list[tuple[int, bool]] = []  # (column, the line ended with ":" and may open a block below)
    flow = 0
    for line in data.splitlines():
        stripped = line.lstrip(b" ")
        if not stripped or stripped.startswith(b"#"):
            continue
        block = 0
        if flow == 0:  # inside a flow collection indentation means nothing
            indent = len(line) - len(stripped)
            is_item = stripped.startswith(b"- ") or stripped == b"-"
            # A sequence may sit at its key's own column ("a:\n- x"): it is still inside the key.
            while indents and (indents[-1][0] > indent or (indents[-1][0] == indent
                                                            and not (is_item and indents[-1][1]))):
                indents.pop()
            opens = line.rstrip().endswith(b":")
            indents.append((indent, opens and not is_item))
            # Each "- " opens a level whose content starts further right ("- - a:" nests three deep).
            rest = stripped
            while rest.startswith(b"- ") or rest == b"-":
                after = rest[1:].lstrip(b" ")
                indent += len(rest) - len(after)
                rest = after
                indents.append((indent, opens))
            block = len(indents)
        top = flow
        for byte in stripped:
            if byte in (0x5B, 0x7B):  # [ {
                flow += 1
                top = max(top, flow)
            elif byte in (0x5D, 0x7D) and flow:  # ] }
                flow -= 1
        deepest = max(deepest, block + top)
    return deepest


def load(data: bytes, max_bytes: int, max_events: int = 200_000, max_depth: int = 64) -> Any:
    import yaml

    if len(data) > max_bytes:
        raise YamlRefused(f"larger than {max_bytes} bytes")
    depth = nesting(data)
    if depth > max_depth:
        raise YamlRefused(f"nested more than {max_depth} levels deep")
    try:
        for count, event in enumerate(yaml.parse(data, Loader=yaml.SafeLoader)):
            if isinstance(event, yaml.AliasEvent):
                raise YamlRefused("YAML aliases (*name) are not allowed")
            if count > max_events:
                raise YamlRefused(f"more than {max_events} YAML nodes")
        return yaml.safe_load(data)
    except YamlRefused:
        raise
    except RecursionError:
        raise YamlRefused("nested too deeply") from None
    except (yaml.YAMLError, ValueError) as exc:  # ValueError: a scalar such as 2020-02-30 that is no date
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise YamlRefused(f"not valid YAML: {first}") from None

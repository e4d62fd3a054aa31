"""aapt2's protobuf XML (``XmlNode`` of ``Resources.proto``), as kept in an Android App Bundle.

``base/manifest/AndroidManifest.xml`` of a bundle is this, not binary AXML; bundletool turns it into
AXML when it builds the APKs a phone installs. This reader returns the same ``XmlElement`` tree as
``axml.parse_axml``, so the manifest reader and everything after it see one shape: framework
attributes are keyed ``android:<name>`` by resource id, values typed as in AXML (``@0x7f..`` for
references, ``int``/``bool`` for compiled primitives, the text for strings).

Field numbers (aapt2 ``Resources.proto``): XmlNode{element=1, text=2, source=3};
XmlElement{namespace_declaration=1, namespace_uri=2, name=3, attribute=4, child=5};
XmlAttribute{namespace_uri=1, name=2, value=3, source=4, resource_id=5, compiled_item=6};
SourcePosition{line_number=1}.
"""

from __future__ import annotations

from appvet.android import protowire as pw
from appvet.android.axml import (
    ANDROID_NS,
    FRAMEWORK_ATTRS,
    MAX_DEPTH,
    TYPE_ATTRIBUTE,
    TYPE_DIMENSION,
    TYPE_FLOAT,
    TYPE_FRACTION,
    TYPE_INT_BOOLEAN,
    TYPE_INT_DEC,
    TYPE_INT_HEX,
    TYPE_NULL,
    TYPE_REFERENCE,
    AttrValue,
    XmlElement,
    format_value,
)
from appvet.errors import FormatError

# Primitive oneof field -> Res_value data type (Resources.proto ``Primitive``).
_PRIMITIVE_TYPES = {
    1: TYPE_NULL, 2: TYPE_NULL, 3: TYPE_FLOAT, 13: TYPE_DIMENSION, 14: TYPE_FRACTION, 6: TYPE_INT_DEC,
    7: TYPE_INT_HEX, 8: TYPE_INT_BOOLEAN, 9: 0x1C, 10: 0x1D, 11: 0x1E, 12: 0x1F,
}  # fmt: skip


def looks_like_proto_xml(data: bytes | memoryview) -> bool:
    """True for an ``XmlNode`` message (first field: element or text), false for binary AXML.

    Android reads binary XML without checking its chunk type, so a manifest whose type bytes were
    altered still installs; its header size (8, bytes 2-3) still marks it as AXML, and a protobuf
    message never has 0x08 there (the element's first field is length-delimited)."""
    head = bytes(data[:64])
    return (len(head) > 4 and head[0] in (0x0A, 0x12) and head[2:4] != b"\x08\x00"
            and not head.lstrip().startswith(b"<"))


def item_value(item: memoryview, name: str) -> AttrValue:
    """An ``Item`` (compiled value) as an attrs value; ``None`` when it carries nothing readable."""
    for number, wire, value in pw.fields(item, name):
        if number == 1 and wire == pw.LEN:  # Reference
            kind, ref = 0, 0
            for rn, _rw, rv in pw.fields(pw.message(value, name), name):
                if rn == 1:
                    kind = pw.number(rv, name)
                elif rn == 2:
                    ref = pw.number(rv, name) & 0xFFFFFFFF
            return format_value(TYPE_ATTRIBUTE if kind == 1 else TYPE_REFERENCE, ref)
        if number in (2, 3, 4) and wire == pw.LEN:  # String, RawString, StyledString: value = 1
            for sn, _sw, sv in pw.fields(pw.message(value, name), name):
                if sn == 1:
                    return pw.text(sv, name)
            return ""
        if number == 5 and wire == pw.LEN:  # FileReference: path = 1
            for fn, _fw, fv in pw.fields(pw.message(value, name), name):
                if fn == 1:
                    return pw.text(fv, name)
            return None
        if number == 7 and wire == pw.LEN:  # Primitive
            return _primitive(pw.message(value, name), name)
    return None


def _primitive(prim: memoryview, name: str) -> AttrValue:
    for number, _wire, value in pw.fields(prim, name):
        data_type = _PRIMITIVE_TYPES.get(number)
        if data_type is None:
            continue
        if data_type == TYPE_NULL:
            return None
        raw = value if isinstance(value, int) else 0
        if data_type == TYPE_INT_BOOLEAN:
            return raw != 0
        return format_value(data_type, raw & 0xFFFFFFFF)
    return None


def _attribute(attr: memoryview, name: str) -> tuple[str | None, AttrValue]:
    uri = attr_name = ""
    text: str | None = None
    res_id = 0
    compiled: memoryview | None = None
    for number, _wire, value in pw.fields(attr, name):
        if number == 1:
            uri = pw.text(value, name)
        elif number == 2:
            attr_name = pw.text(value, name)
        elif number == 3:
            text = pw.text(value, name)
        elif number == 5:
            res_id = pw.number(value, name) & 0xFFFFFFFF
        elif number == 6:
            compiled = pw.message(value, name)
    if res_id >> 24 == 0x01:
        key: str | None = "android:" + (FRAMEWORK_ATTRS.get(res_id) or attr_name or f"0x{res_id:08x}")
    elif uri == ANDROID_NS:
        key = "android:" + attr_name if attr_name else None
    else:
        key = attr_name or (f"0x{res_id:08x}" if res_id else None)
    value_: AttrValue = item_value(compiled, name) if compiled is not None else None
    if compiled is None or (value_ is None and text):
        # No compiled form: the attribute's text is its value, as aapt2 leaves plain strings.
        value_ = text if text != "" else None
    return key, value_


def _element(data: memoryview, name: str, depth: int) -> XmlElement:
    element = XmlElement(tag="")
    children: list[memoryview] = []
    for number, _wire, value in pw.fields(data, name):
        if number == 3:
            element.tag = pw.text(value, name)
        elif number == 4:
            key, attr_value = _attribute(pw.message(value, name), name)
            if key is not None and key not in element.attrs:
                element.attrs[key] = attr_value
        elif number == 5:
            children.append(pw.message(value, name))
    for child in children:
        node, text, line = _node(child, name)
        if node is not None:
            if depth < MAX_DEPTH:
                node_element = _element(node, name, depth + 1)
                node_element.line = line
                element.children.append(node_element)
        elif text and text.strip():  # aapt2 drops whitespace-only text when it writes binary XML
            element.text = text if element.text is None else element.text + text
    return element


def _node(data: memoryview, name: str) -> tuple[memoryview | None, str | None, int | None]:
    element: memoryview | None = None
    text: str | None = None
    line: int | None = None
    for number, _wire, value in pw.fields(data, name):
        if number == 1:
            element = pw.message(value, name)
        elif number == 2:
            text = pw.text(value, name)
        elif number == 3:
            for sn, _sw, sv in pw.fields(pw.message(value, name), name):
                if sn == 1:
                    line = pw.number(sv, name)
    return element, text, line


def parse_proto_xml(data: bytes | memoryview, name: str = "AndroidManifest.xml") -> XmlElement:
    """The root element of a protobuf ``XmlNode`` document; ``FormatError`` if it is not one."""
    view = memoryview(bytes(data))
    element, _text, line = _node(view, name)
    if element is None:
        raise FormatError("protobuf XML document has no root element", file=name)
    root = _element(element, name, 1)
    root.line = line
    if not root.tag:
        raise FormatError("protobuf XML root element has no name", file=name)
    return root

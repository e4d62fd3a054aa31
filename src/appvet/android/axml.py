"""Reader for Android binary XML (AXML): ``AndroidManifest.xml`` and compiled ``res/xml`` files.

The layout follows AOSP ``ResourceTypes.h``: a ``ResXMLTree_header`` chunk holding a string
pool (``ResStringPool_header``, UTF-8 or UTF-16), an optional resource map (the framework
resource id of each attribute name, by string index) and a flat run of ``ResXMLTree_node``
chunks (namespace start/end, element start/end, CDATA).

The reader decides what a file means the way Android's ``ResXMLTree`` does, not the way a
naive parser would, because APKs under review are built by people who want analysers to read
something other than what the phone reads:

* an attribute that carries a framework resource id is named by that id, whatever its name
  string says (packers blank or rename the strings; Android never looks at them), and an
  android-namespace attribute without an id, which Android cannot see, is left out;
* the ``android:`` key comes from the namespace URI or the id, never from the prefix;
* header sizes, the attribute start offset and the attribute stride are honoured as written,
  and chunk types Android skips are skipped by their declared size;
* the last string pool and resource map seen before the first node win, as on the device;
* style counts and style offsets are ignored: they do not change any string.

Every read is bounded by the buffer: counts are checked against the bytes that hold them,
each chunk advances the cursor by at least its header, and string decoding has a budget
proportional to the pool size, so a crafted file costs time linear in its length.
"""

from __future__ import annotations

import struct
from collections.abc import Iterator
from dataclasses import dataclass, field

from appvet.errors import FormatError

ANDROID_NS = "http://schemas.android.com/apk/res/android"

# Chunk types (ResourceTypes.h).
RES_STRING_POOL_TYPE = 0x0001
RES_TABLE_TYPE = 0x0002
RES_XML_TYPE = 0x0003
RES_XML_FIRST_CHUNK_TYPE = 0x0100
RES_XML_START_NAMESPACE_TYPE = 0x0100
RES_XML_END_NAMESPACE_TYPE = 0x0101
RES_XML_START_ELEMENT_TYPE = 0x0102
RES_XML_END_ELEMENT_TYPE = 0x0103
RES_XML_CDATA_TYPE = 0x0104
RES_XML_LAST_CHUNK_TYPE = 0x017F
RES_XML_RESOURCE_MAP_TYPE = 0x0180

# Res_value data types.
TYPE_NULL = 0x00
TYPE_REFERENCE = 0x01
TYPE_ATTRIBUTE = 0x02
TYPE_STRING = 0x03
TYPE_FLOAT = 0x04
TYPE_DIMENSION = 0x05
TYPE_FRACTION = 0x06
TYPE_DYNAMIC_REFERENCE = 0x07
TYPE_DYNAMIC_ATTRIBUTE = 0x08
TYPE_INT_DEC = 0x10
TYPE_INT_HEX = 0x11
TYPE_INT_BOOLEAN = 0x12
TYPE_FIRST_INT = 0x10
TYPE_LAST_INT = 0x1F

UTF8_FLAG = 0x100
NO_INDEX = 0xFFFFFFFF

# Element nesting beyond this is dropped: no Android parser looks that deep, and it keeps
# recursive consumers (equality, repr, to_xml) clear of Python's recursion limit.
MAX_DEPTH = 128

# Minimum extension sizes per node type, as checked by ResXMLParser::nextNode.
_MIN_EXT = {
    RES_XML_START_NAMESPACE_TYPE: 8,
    RES_XML_END_NAMESPACE_TYPE: 8,
    RES_XML_START_ELEMENT_TYPE: 20,
    RES_XML_END_ELEMENT_TYPE: 8,
    RES_XML_CDATA_TYPE: 12,
}
_NODE_HEADER = 16
_ATTR_SIZE = 20

_CHUNK = struct.Struct("<HHI")
_U16 = struct.Struct("<H")
_U32 = struct.Struct("<I")
_POOL = struct.Struct("<IIIII")
_ATTR_EXT = struct.Struct("<IIHHH")
_ATTR = struct.Struct("<IIIHBBI")

# Public framework attributes that manifests and res/xml files use, id -> name. Checked
# against the ``attr`` entries of Debian's android-framework-res (API 29, ``aapt2 dump
# resources``); an attribute id not listed here keeps its name string, or ``0x...`` if blank.
FRAMEWORK_ATTRS: dict[int, str] = {
    0x01010000: "theme", 0x01010001: "label", 0x01010002: "icon", 0x01010003: "name",
    0x01010005: "allowClearUserData", 0x01010006: "permission", 0x01010007: "readPermission",
    0x01010008: "writePermission", 0x01010009: "protectionLevel", 0x0101000A: "permissionGroup",
    0x0101000B: "sharedUserId", 0x0101000C: "hasCode", 0x0101000D: "persistent", 0x0101000E: "enabled",
    0x0101000F: "debuggable", 0x01010010: "exported", 0x01010011: "process", 0x01010012: "taskAffinity",
    0x01010013: "multiprocess", 0x01010014: "finishOnTaskLaunch", 0x01010015: "clearTaskOnLaunch",
    0x01010016: "stateNotNeeded", 0x01010017: "excludeFromRecents", 0x01010018: "authorities",
    0x01010019: "syncable", 0x0101001A: "initOrder", 0x0101001B: "grantUriPermissions",
    0x0101001C: "priority", 0x0101001D: "launchMode", 0x0101001E: "screenOrientation",
    0x0101001F: "configChanges", 0x01010020: "description", 0x01010021: "targetPackage",
    0x01010022: "handleProfiling", 0x01010023: "functionalTest", 0x01010024: "value",
    0x01010025: "resource", 0x01010026: "mimeType", 0x01010027: "scheme", 0x01010028: "host",
    0x01010029: "port", 0x0101002A: "path", 0x0101002B: "pathPrefix", 0x0101002C: "pathPattern",
    0x01010202: "targetActivity", 0x01010203: "alwaysRetainTaskState", 0x01010204: "allowTaskReparenting",
    0x0101020C: "minSdkVersion", 0x0101021B: "versionCode", 0x0101021C: "versionName",
    0x0101022B: "windowSoftInputMode", 0x0101022D: "noHistory", 0x01010261: "sharedUserLabel",
    0x01010270: "targetSdkVersion", 0x01010271: "maxSdkVersion", 0x01010272: "testOnly",
    0x0101027F: "backupAgent", 0x01010280: "allowBackup", 0x01010281: "glEsVersion",
    0x0101028E: "required", 0x0101029C: "killAfterRestore", 0x010102B7: "installLocation",
    0x010102B8: "vmSafeMode", 0x010102BA: "restoreAnyVersion", 0x010102BE: "logo",
    0x010102D3: "hardwareAccelerated", 0x0101035A: "largeHeap", 0x0101036A: "stopWithTask",
    0x01010398: "uiOptions", 0x010103A7: "parentActivityName", 0x010103A9: "isolatedProcess",
    0x010103AF: "supportsRtl", 0x010103BF: "singleUser", 0x010103C7: "permissionFlags", 0x010103E3: "ssp",
    0x010103E4: "sspPrefix", 0x010103E5: "sspPattern", 0x010103E7: "vendor", 0x010103F2: "banner",
    0x01010473: "fullBackupOnly", 0x010104EA: "extractNativeLibs", 0x010104EB: "fullBackupContent",
    0x010104EC: "usesCleartextTraffic", 0x010104EE: "autoVerify", 0x010104F6: "resizeableActivity",
    0x01010505: "directBootAware", 0x0101050E: "externalService", 0x01010521: "forceHasOverlappingRendering",
    0x01010527: "networkSecurityConfig", 0x0101052C: "roundIcon", 0x01010531: "visibleToInstantApps",
    0x01010541: "targetProcesses", 0x01010549: "splitName", 0x0101054B: "isolatedSplits",
    0x01010554: "requiredFeature", 0x01010555: "requiredNotFeature", 0x0101055B: "isFeatureSplit",
    0x01010565: "requiredSystemPropertyName", 0x01010566: "requiredSystemPropertyValue",
    0x01010572: "compileSdkVersion", 0x01010573: "compileSdkVersionCodename", 0x01010576: "versionCodeMajor",
    0x0101057A: "appComponentFactory", 0x0101058E: "usesNonSdkApi", 0x01010591: "isSplitRequired",
    0x01010599: "foregroundServiceType", 0x0101059A: "hasFragileUserData", 0x0101059D: "zygotePreloadName",
    0x0101059E: "useEmbeddedDex", 0x01010603: "requestLegacyExternalStorage",
}  # fmt: skip

AttrValue = str | int | bool | None


@dataclass
class XmlElement:
    """One element of a binary XML document."""

    tag: str
    attrs: dict[str, AttrValue] = field(default_factory=dict)
    """``android:name``-style keys for framework attributes, plain names for the rest. Values:
    ``str`` for strings (and floats, dimensions, fractions as text), ``int`` for integer and
    colour types, ``bool`` for booleans, ``'@0x7f0a0001'`` for references, ``'?0x...'`` for
    theme attributes, ``None`` for ``@null`` and empty values."""
    children: list[XmlElement] = field(default_factory=list)
    line: int | None = None
    """Source line recorded by the compiler, as written (it may be forged)."""
    text: str | None = None
    """Character data inside the element (``<domain>example.com</domain>``), joined."""

    def iter(self, tag: str | None = None) -> Iterator[XmlElement]:
        """This element and its descendants in document order, optionally only those named ``tag``."""
        stack = [self]
        while stack:
            element = stack.pop()
            if tag is None or element.tag == tag:
                yield element
            stack.extend(reversed(element.children))

    def find_all(self, tag: str) -> list[XmlElement]:
        """Direct children named ``tag``."""
        return [child for child in self.children if child.tag == tag]


# ---------------------------------------------------------------------------------------------
# String pool (shared with the resource table reader)


class StringPool:
    """A lazily decoded ``ResStringPool`` chunk.

    Offsets and lengths are bounded by the chunk, and the total number of bytes decoded is
    capped at a small multiple of the pool size: strings that overlap (a crafted pool can point
    thousands of entries into one long string) cannot make decoding quadratic.
    """

    def __init__(self, data: bytes, start: int, end: int, name: str) -> None:
        self._data = data
        self._name = name
        if end - start < 8 + _POOL.size:
            raise FormatError(f"string pool at 0x{start:x} is shorter than its header", file=name)
        header_size = _U16.unpack_from(data, start + 2)[0]
        count, _styles, flags, strings_start, styles_start = _POOL.unpack_from(data, start + 8)
        self._entries = start + header_size
        if header_size < 8 or self._entries > end:
            raise FormatError(f"string pool at 0x{start:x} has header size {header_size}", file=name)
        if count > (end - self._entries) // 4:
            raise FormatError(
                f"string pool at 0x{start:x} claims {count} strings but has room for "
                f"{(end - self._entries) // 4} offsets",
                file=name,
            )
        self._count = count
        self.utf8 = bool(flags & UTF8_FLAG)
        self._region = start + strings_start
        # Styles follow the strings when they are declared sensibly; a forged style header
        # (a common anti-analysis trick) just leaves the strings running to the chunk end.
        region_end = end
        if start + strings_start < start + styles_start < end:
            region_end = start + styles_start
        self._region_end = region_end
        if count and not start <= self._region < region_end:
            raise FormatError(f"string pool at 0x{start:x} has its strings outside the chunk", file=name)
        self._budget = 4 * max(0, region_end - self._region) + 65536
        self._cache: dict[int, str] = {}

    def __len__(self) -> int:
        return self._count

    def get(self, index: int) -> str | None:
        """The string at ``index``, or ``None`` for a null reference or an index out of range."""
        if index < 0 or index >= self._count:
            return None
        cached = self._cache.get(index)
        if cached is not None:
            return cached
        offset = _U32.unpack_from(self._data, self._entries + 4 * index)[0]
        pos = self._region + offset
        text = self._decode(pos) if self._region <= pos < self._region_end else ""
        self._cache[index] = text
        return text

    def __iter__(self) -> Iterator[str]:
        for index in range(self._count):
            yield self.get(index) or ""

    def _charge(self, nbytes: int) -> None:
        self._budget -= nbytes
        if self._budget < 0:
            raise FormatError(
                "string pool entries overlap far beyond the pool size (crafted pool)", file=self._name
            )

    def _decode(self, pos: int) -> str:
        data, end = self._data, self._region_end
        if self.utf8:
            pos = _skip_len8(data, pos, end)  # length in characters, not needed
            nbytes, pos = _read_len8(data, pos, end)
            raw = data[pos : min(pos + nbytes, end)]
            self._charge(len(raw))
            return decode_utf8(raw)
        nchars, pos = _read_len16(data, pos, end)
        raw = data[pos : min(pos + 2 * nchars, end)]
        if len(raw) % 2:
            raw = raw[:-1]
        self._charge(len(raw))
        return raw.decode("utf-16-le", errors="replace")


def decode_utf8(raw: bytes) -> str:
    """Decode pool bytes as the device would show them.

    Old aapt versions wrote supplementary characters as CESU-8 surrogate pairs; obfuscators write
    invalid bytes on purpose. Neither may raise: pairs are joined, anything else becomes U+FFFD.
    """
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        pass
    try:
        text = raw.decode("utf-8", errors="surrogatepass")
        return text.encode("utf-16-le", errors="surrogatepass").decode("utf-16-le", errors="replace")
    except UnicodeDecodeError:
        return raw.decode("utf-8", errors="replace")


def _skip_len8(data: bytes, pos: int, end: int) -> int:
    if pos >= end:
        return pos
    return pos + (2 if data[pos] & 0x80 else 1)


def _read_len8(data: bytes, pos: int, end: int) -> tuple[int, int]:
    if pos >= end:
        return 0, pos
    first = data[pos]
    if first & 0x80:
        if pos + 1 >= end:
            return 0, end
        return ((first & 0x7F) << 8) | data[pos + 1], pos + 2
    return first, pos + 1


def _read_len16(data: bytes, pos: int, end: int) -> tuple[int, int]:
    if pos + 2 > end:
        return 0, end
    first = _U16.unpack_from(data, pos)[0]
    if first & 0x8000:
        if pos + 4 > end:
            return 0, end
        return ((first & 0x7FFF) << 16) | _U16.unpack_from(data, pos + 2)[0], pos + 4
    return first, pos + 2


# ---------------------------------------------------------------------------------------------
# Res_value formatting (shared with the resource table reader)

_DIMENSION_UNITS = ("px", "dip", "sp", "pt", "in", "mm")
_FRACTION_UNITS = ("%", "%p")
_RADIX_MULTS = (1.0 / (1 << 8), 1.0 / (1 << 15), 1.0 / (1 << 23), 1.0 / (1 << 31))


def _complex_to_float(data: int) -> float:
    mantissa = data & 0xFFFFFF00
    if mantissa & 0x80000000:
        mantissa -= 1 << 32
    return mantissa * _RADIX_MULTS[(data >> 4) & 3]


def _number(value: float) -> str:
    return f"{value:g}"


def format_value(data_type: int, data: int, string: str | None = None) -> AttrValue:
    """A typed ``Res_value`` as a Python value (see ``XmlElement.attrs``).

    ``string`` is the pool string for ``TYPE_STRING`` (or a raw value to fall back on for types
    this reader does not know).
    """
    if data_type == TYPE_STRING:
        return string
    if data_type in (TYPE_REFERENCE, TYPE_DYNAMIC_REFERENCE):
        return None if data == 0 else f"@0x{data:08x}"
    if data_type in (TYPE_ATTRIBUTE, TYPE_DYNAMIC_ATTRIBUTE):
        return f"?0x{data:08x}"
    if data_type == TYPE_NULL:
        return None
    if data_type == TYPE_INT_BOOLEAN:
        return data != 0
    if data_type == TYPE_INT_DEC:
        return data - (1 << 32) if data & 0x80000000 else data
    if TYPE_FIRST_INT <= data_type <= TYPE_LAST_INT:
        return data
    if data_type == TYPE_FLOAT:
        return _number(struct.unpack("<f", _U32.pack(data))[0])
    if data_type == TYPE_DIMENSION:
        unit = data & 0xF
        suffix = _DIMENSION_UNITS[unit] if unit < len(_DIMENSION_UNITS) else f"unit{unit}"
        return _number(_complex_to_float(data)) + suffix
    if data_type == TYPE_FRACTION:
        unit = data & 0xF
        suffix = _FRACTION_UNITS[unit] if unit < len(_FRACTION_UNITS) else f"unit{unit}"
        return _number(_complex_to_float(data) * 100) + suffix
    return string


# ---------------------------------------------------------------------------------------------
# The XML tree


def _check_chunk(data: bytes, pos: int, end: int, min_header: int, what: str, name: str) -> tuple[int, int, int]:
    """Type, header size and size of the chunk at ``pos``, validated as ``validate_chunk`` does."""
    if pos + 8 > end:
        raise FormatError(f"{what} at 0x{pos:x} is cut off", file=name)
    ctype, header_size, size = _CHUNK.unpack_from(data, pos)
    if header_size < min_header:
        raise FormatError(f"{what} at 0x{pos:x} has header size {header_size} < {min_header}", file=name)
    if header_size > size:
        raise FormatError(f"{what} at 0x{pos:x} has header size {header_size} > chunk size {size}", file=name)
    if size > end - pos:
        raise FormatError(f"{what} at 0x{pos:x} of {size} bytes runs past the end (0x{end:x})", file=name)
    return ctype, header_size, size


class _Reader:
    """State for one document: buffer, end, pool, resource map."""

    def __init__(self, data: bytes, name: str) -> None:
        self.data = data
        self.name = name
        self.pool: StringPool | None = None
        self.res_ids: tuple[int, ...] = ()
        self.has_framework_ids = False

    def string(self, index: int) -> str | None:
        return self.pool.get(index) if self.pool is not None else None

    def attr_key(self, ns_index: int, name_index: int) -> str | None:
        """The attrs key of an attribute, or ``None`` for one Android cannot see."""
        name = self.string(name_index) or ""
        res_id = self.res_ids[name_index] if name_index < len(self.res_ids) else 0
        if res_id >> 24 == 0x01:
            return "android:" + (FRAMEWORK_ATTRS.get(res_id) or name or f"0x{res_id:08x}")
        uri = self.string(ns_index) if ns_index != NO_INDEX else None
        if uri == ANDROID_NS:
            # Android resolves framework attributes by id only. Where the compiler gave ids, an
            # android attribute without one is a decoy planted for name-based parsers; a file
            # with no ids at all was hand-made, and its names are all there is to go by.
            return None if self.has_framework_ids or not name else "android:" + name
        if name:
            return name
        return f"0x{res_id:08x}" if res_id else None

    def element(self, pos: int, header_size: int, size: int) -> XmlElement:
        data, ext = self.data, pos + header_size
        line = _U32.unpack_from(data, pos + 8)[0]
        _ns, name_index, attr_start, attr_size, attr_count = _ATTR_EXT.unpack_from(data, ext)
        if attr_count and attr_size < _ATTR_SIZE:
            raise FormatError(f"element at 0x{pos:x} has attribute size {attr_size} < 20", file=self.name)
        if attr_start + attr_size * attr_count > size - header_size:
            raise FormatError(f"element at 0x{pos:x} has attributes past its end", file=self.name)
        element = XmlElement(tag=self.string(name_index) or "", line=line)
        for i in range(attr_count):
            ns_index, attr_name, raw, _vsize, _res0, vtype, vdata = _ATTR.unpack_from(
                data, ext + attr_start + attr_size * i
            )
            key = self.attr_key(ns_index, attr_name)
            if key is None or key in element.attrs:
                continue  # the first of duplicates is the one Android's lookups find
            # Android takes a string attribute's text from the typed value; the raw value is what
            # name-based lookups return. Prefer the former, fall back on the latter.
            string = self.string(vdata) if vtype == TYPE_STRING else None
            if string is None:
                string = self.string(raw) if raw != NO_INDEX else None
            element.attrs[key] = format_value(vtype, vdata, string)
        return element

    def header_chunks(self, start: int, end: int) -> int:
        """Read pool and resource map up to the first node; return the node's offset."""
        pos = start
        while pos + 8 <= end:
            ctype, header_size, size = _check_chunk(self.data, pos, end, 8, "chunk", self.name)
            if ctype == RES_STRING_POOL_TYPE:
                self.pool = StringPool(self.data, pos, pos + size, self.name)
            elif ctype == RES_XML_RESOURCE_MAP_TYPE:
                count = (size - header_size) // 4
                self.res_ids = struct.unpack_from(f"<{count}I", self.data, pos + header_size)
                self.has_framework_ids = any(r >> 24 == 0x01 for r in self.res_ids)
            elif RES_XML_FIRST_CHUNK_TYPE <= ctype <= RES_XML_LAST_CHUNK_TYPE:
                return pos
            pos += size
        raise FormatError("no XML element node found", file=self.name)

    def tree(self, pos: int, end: int) -> XmlElement:
        root: XmlElement | None = None
        stack: list[XmlElement] = []
        dropped = 0  # open elements below MAX_DEPTH that are not kept
        while pos + 8 <= end:
            ctype, header_size, size = _check_chunk(self.data, pos, end, _NODE_HEADER, "XML node", self.name)
            min_ext = _MIN_EXT.get(ctype)
            if min_ext is not None and size - header_size < min_ext:
                raise FormatError(f"XML node at 0x{pos:x} (type 0x{ctype:04x}) is too small", file=self.name)
            if ctype == RES_XML_START_ELEMENT_TYPE:
                element = self.element(pos, header_size, size)
                if root is None:
                    root = element
                    stack.append(element)
                elif not stack:
                    break  # a second root: Android stops at the end of the first
                elif dropped or len(stack) >= MAX_DEPTH:
                    dropped += 1
                else:
                    stack[-1].children.append(element)
                    stack.append(element)
            elif ctype == RES_XML_CDATA_TYPE and stack and not dropped:
                text = self.string(_U32.unpack_from(self.data, pos + header_size)[0])
                if text:
                    current = stack[-1]
                    current.text = text if current.text is None else current.text + text
            elif ctype == RES_XML_END_ELEMENT_TYPE and root is not None:
                if dropped:
                    dropped -= 1
                elif stack:
                    stack.pop()
                if not stack:
                    break
            pos += size
        if root is None:
            raise FormatError("no start element in the XML tree", file=self.name)
        return root


def parse_axml(data: bytes, name: str = "AndroidManifest.xml") -> XmlElement:
    """Parse binary XML and return its root element; ``FormatError`` if Android could not read it.

    An App Bundle keeps its XML as aapt2's protobuf ``XmlNode``; that form is read by ``protoxml``
    into the same tree."""
    from appvet.android.protoxml import looks_like_proto_xml, parse_proto_xml

    if looks_like_proto_xml(data):
        return parse_proto_xml(data, name)
    data = bytes(data)
    if len(data) < 8:
        raise FormatError("too short for a binary XML header", file=name)
    if data[:1] == b"<" or data[:3] == b"\xef\xbb\xbf" or data[:5].lstrip().startswith(b"<"):
        raise FormatError("text XML, not compiled binary XML", file=name)
    ctype, header_size, size = _CHUNK.unpack_from(data, 0)
    if header_size < 8 or header_size > size:
        raise FormatError(
            f"bad binary XML header (type 0x{ctype:04x}, header {header_size}, size {size})", file=name
        )
    # Android rejects a declared size past the data; accepting it (truncated to the data) only
    # lets us read more of a damaged file. A smaller declared size hides the tail from Android,
    # so it hides it from us too.
    end = min(size, len(data))
    reader = _Reader(data, name)
    first_node = reader.header_chunks(header_size, end)
    if reader.pool is None:
        raise FormatError("no string pool before the first XML node", file=name)
    return reader.tree(first_node, end)


# ---------------------------------------------------------------------------------------------
# Text rendering for evidence excerpts and debugging


def _xml_escape(text: str) -> str:
    out = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace('"', "&quot;")
    if any(ord(c) < 0x20 for c in out):
        out = "".join(c if ord(c) >= 0x20 or c in "\t" else f"&#x{ord(c):x};" for c in out)
    return out


def _xml_name(text: str) -> str:
    cleaned = "".join(c if c.isalnum() or c in "._:-" else "_" for c in text)
    return cleaned or "_"


def _attr_text(value: AttrValue) -> str:
    if value is None:
        return "@null"
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _uses_android(element: XmlElement) -> bool:
    return any(key.startswith("android:") for e in element.iter() for key in e.attrs)


def to_xml(element: XmlElement, indent: str = "    ") -> str:
    """Readable text XML of ``element`` and its children, for excerpts and debugging."""
    lines: list[str] = []
    declare = _uses_android(element)

    def emit(node: XmlElement, depth: int, first: bool) -> None:
        attrs = [f'xmlns:android="{ANDROID_NS}"'] if first and declare else []
        attrs += [f'{_xml_name(k)}="{_xml_escape(_attr_text(v))}"' for k, v in node.attrs.items()]
        head = indent * depth + "<" + _xml_name(node.tag) + "".join(" " + a for a in attrs)
        text = _xml_escape(node.text) if node.text else ""
        if not node.children:
            lines.append(f"{head}>{text}</{_xml_name(node.tag)}>" if text else head + " />")
            return
        lines.append(head + ">" + text)
        for child in node.children:
            emit(child, depth + 1, False)
        lines.append(indent * depth + "</" + _xml_name(node.tag) + ">")

    emit(element, 0, True)
    return "\n".join(lines) + "\n"

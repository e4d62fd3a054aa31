"""Binary XML reader: aapt2-built fixtures, an obfuscated rewrite, hand-made edge cases, fuzzing."""

from __future__ import annotations

import struct
import time
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from appvet.android.axml import MAX_DEPTH, StringPool, XmlElement, parse_axml, to_xml
from appvet.errors import FormatError
from tests.android.data.axml import writers as w

DATA = Path(__file__).parent / "data" / "axml"



MANIFEST = (DATA / "AndroidManifest.xml").read_bytes()
OBFUSCATED = (DATA / "obfuscated" / "AndroidManifest.xml").read_bytes()
NSC = (DATA / "network_security_config.xml").read_bytes()


def child(element: XmlElement, tag: str, index: int = 0) -> XmlElement:
    return element.find_all(tag)[index]


# ---- the aapt2-compiled fixture ------------------------------------------------------------


def test_fixture_is_utf16_aapt2_output() -> None:
    # The fixture must exercise the UTF-16 pool; the obfuscated one the UTF-8 pool.
    assert struct.unpack_from("<HHI", MANIFEST, 0)[0] == 0x0003
    assert not struct.unpack_from("<I", MANIFEST, 8 + 16)[0] & 0x100
    assert struct.unpack_from("<I", OBFUSCATED, 8 + 16)[0] & 0x100


def test_manifest_root_attributes() -> None:
    root = parse_axml(MANIFEST)
    assert root.tag == "manifest"
    assert root.line == 3
    assert root.attrs == {
        "android:versionCode": 42,
        "android:versionName": "1.2.3-fixture",
        "android:compileSdkVersion": 29,
        "android:compileSdkVersionCodename": "10.0.0",
        "package": "org.appvet.fixture",
        "platformBuildVersionCode": 29,
        "platformBuildVersionName": "10.0.0",
    }
    assert [c.tag for c in root.children] == [
        "uses-sdk", "uses-permission", "uses-permission", "uses-permission", "uses-permission-sdk-23",
        "uses-permission-sdk-23", "uses-permission", "permission", "queries", "application",
    ]  # fmt: skip


def test_manifest_value_types() -> None:
    root = parse_axml(MANIFEST)
    uses_sdk = child(root, "uses-sdk")
    assert uses_sdk.attrs == {"android:minSdkVersion": "Tiramisu", "android:targetSdkVersion": 34}
    assert uses_sdk.line == 8
    assert child(root, "permission").attrs["android:protectionLevel"] == 2
    app = child(root, "application")
    assert app.attrs == {
        "android:label": "@0x7f040000",
        "android:name": ".FixtureApp",
        "android:debuggable": True,
        "android:allowBackup": False,
        "android:usesCleartextTraffic": True,
        "android:networkSecurityConfig": "@0x7f050000",
    }
    receiver = child(app, "receiver")
    assert child(receiver, "intent-filter").attrs == {"android:priority": 2147483647}
    long_value = app.find_all("meta-data")[6].attrs["android:value"]
    assert isinstance(long_value, str) and long_value.startswith("Données de test — 测试数据 — a value")
    assert len(long_value.encode()) > 127


def test_iter_walks_document_order() -> None:
    root = parse_axml(MANIFEST)
    actions = [a.attrs["android:name"] for a in root.iter("action")]
    assert actions == [
        "android.intent.action.SEND",
        "android.intent.action.MAIN",
        "android.intent.action.VIEW",
        "com.igexin.sdk.action.service.message",
        "com.tencent.android.xg.vip.action.SDK",
        "android.intent.action.BOOT_COMPLETED",
    ]
    assert len(list(root.iter())) == 39


def test_res_xml_file_with_text() -> None:
    root = parse_axml(NSC, "res/xml/network_security_config.xml")
    assert root.tag == "network-security-config"
    base, domain_config = root.children
    assert base.attrs == {"cleartextTrafficPermitted": True}
    domain = child(domain_config, "domain")
    assert domain.attrs == {"includeSubdomains": True}
    assert domain.text == "fixture.example.cn"


def test_to_xml_is_well_formed_and_faithful() -> None:
    root = parse_axml(MANIFEST)
    text = to_xml(root)
    assert text.startswith('<manifest xmlns:android="http://schemas.android.com/apk/res/android" ')
    assert (
        '    <uses-permission android:name="android.permission.READ_EXTERNAL_STORAGE" '
        'android:maxSdkVersion="32" />' in text
    )
    assert '<application android:label="@0x7f040000" android:name=".FixtureApp" android:debuggable="true"' in text
    parsed = ET.fromstring(text)
    android = "{http://schemas.android.com/apk/res/android}"
    assert parsed.attrib["package"] == "org.appvet.fixture"
    assert parsed.find("uses-sdk").attrib[android + "minSdkVersion"] == "Tiramisu"  # type: ignore[union-attr]
    assert len(list(parsed.iter())) == len(list(root.iter()))
    nsc = to_xml(parse_axml(NSC))
    assert '<domain includeSubdomains="true">fixture.example.cn</domain>' in nsc
    assert "xmlns:android" not in nsc


# ---- obfuscated rewrite --------------------------------------------------------------------


def test_obfuscated_manifest_parses_the_same() -> None:
    assert parse_axml(OBFUSCATED) == parse_axml(MANIFEST)
    assert to_xml(parse_axml(OBFUSCATED)) == to_xml(parse_axml(MANIFEST))


def test_obfuscated_manifest_really_is_obfuscated() -> None:
    # The tricks are in the bytes: a 36-byte pool header with a forged style count, a node-range
    # bogus chunk, an unknown chunk among the nodes, a decoy attribute, blank attribute names.
    pool_type, pool_header, _pool_size = struct.unpack_from("<HHI", OBFUSCATED, 8)
    assert (pool_type, pool_header) == (0x0001, 0x24)
    assert struct.unpack_from("<I", OBFUSCATED, 8 + 12)[0] == 0x7FFFFFFF
    types = []
    pos = 8
    while pos < len(OBFUSCATED):
        ctype, _hs, size = struct.unpack_from("<HHI", OBFUSCATED, pos)
        types.append(ctype)
        pos += size
    assert 0x0150 in types and 0x7777 in types
    assert b"com.decoy.NotTheRealComponent" in OBFUSCATED
    assert b"versionCode" not in OBFUSCATED and b"minSdkVersion" not in OBFUSCATED
    assert b"http://schemas.android.com/apk/res/androld" in OBFUSCATED
    values = [v for e in parse_axml(OBFUSCATED).iter() for v in e.attrs.values()]
    assert "com.decoy.NotTheRealComponent" not in values


# ---- hand-made edge cases ------------------------------------------------------------------


def test_blank_names_without_namespace_resolve_by_resource_id() -> None:
    root = w.El("manifest", [w.Attr("", 7, ns=None, res_id=0x0101021B), w.Attr("", "x", ns=None, res_id=0x01010999)])
    element = parse_axml(w.axml(root))
    assert element.attrs == {"android:versionCode": 7, "android:0x01010999": "x"}


def test_id_overrides_a_misleading_name_string() -> None:
    root = w.El("manifest", [w.Attr("versionName", 9, res_id=0x0101021B)])
    assert parse_axml(w.axml(root)).attrs == {"android:versionCode": 9}


def test_idless_android_attribute_is_ignored_when_ids_exist() -> None:
    decoy = w.Attr("name", "com.decoy.Fake", res_id=0)
    real = w.Attr("name", ".Real")
    root = w.El("service", [decoy, real])
    assert parse_axml(w.axml(root)).attrs == {"android:name": ".Real"}
    only_decoy = w.El("service", [decoy, w.Attr("exported", True)])
    assert parse_axml(w.axml(only_decoy)).attrs == {"android:exported": True}


def test_without_resource_map_names_are_used() -> None:
    root = w.El("manifest", [w.Attr("versionCode", 3), w.Attr("package", "a.b", ns=None)])
    assert parse_axml(w.axml(root, resource_map=False)).attrs == {"android:versionCode": 3, "package": "a.b"}


def test_first_duplicate_wins() -> None:
    root = w.El("x", [w.Attr("k", "first", ns=None), w.Attr("k", "second", ns=None)])
    assert parse_axml(w.axml(root)).attrs == {"k": "first"}


def test_value_types() -> None:
    cases = {
        "float": ((0x04, struct.unpack("<I", struct.pack("<f", 1.5))[0]), "1.5"),
        "dimension": ((0x05, (16 << 8) | 1), "16dip"),
        "fraction": ((0x06, (1 << 8) | (0 << 4) | 0), "100%"),
        "fraction_parent": ((0x06, 0x4000 | (1 << 4) | 1), "50%p"),
        "hex": ((0x11, 0xFFFFFFFF), 0xFFFFFFFF),
        "negative": ((0x10, 0xFFFFFFFF), -1),
        "color": ((0x1C, 0xFF00FF00), 0xFF00FF00),
        "ref": ((0x01, 0x7F0A0001), "@0x7f0a0001"),
        "null_ref": ((0x01, 0), None),
        "dynamic_ref": ((0x07, 0x7F0A0002), "@0x7f0a0002"),
        "theme_attr": ((0x02, 0x01010036), "?0x01010036"),
        "null": ((0x00, 1), None),
        "bool_false": ((0x12, 0), False),
    }
    root = w.El("x", [w.Attr(k, v, ns=None) for k, (v, _) in cases.items()])
    attrs = parse_axml(w.axml(root)).attrs
    assert attrs == {k: expected for k, (_, expected) in cases.items()}


def test_unknown_value_type_falls_back_on_raw_string() -> None:
    document = bytearray(w.axml(w.El("x", [w.Attr("k", "raw text", ns=None)])))
    # Re-type the typed value as 0x0b (unused) with junk data: the raw string remains.
    at = document.find(struct.pack("<HBB", 8, 0, 0x03))
    document[at + 3] = 0x0B
    struct.pack_into("<I", document, at + 4, 0xDEADBEEF)
    assert parse_axml(bytes(document)).attrs == {"k": "raw text"}


def test_string_pool_encodings() -> None:
    # Lengths past 0x7fff UTF-16 units, or 0x7f UTF-8 bytes, take two units in the pool.
    for utf8, long_text in ((False, "€" * 40000), (True, "é" * 200)):
        root = w.El("x", [w.Attr("k", long_text, ns=None), w.Attr("s", "😀 ok", ns=None)], text="tëxt")
        element = parse_axml(w.axml(root, utf8=utf8))
        assert element.attrs == {"k": long_text, "s": "😀 ok"}
        assert element.text == "tëxt"


def test_invalid_and_cesu8_bytes_do_not_raise() -> None:
    cesu_smiley = "😀".encode("utf-16-le").decode("utf-16-le", "surrogatepass")
    cesu = "".join(chr(0xD83D) + chr(0xDE00) for _ in cesu_smiley[:1]).encode("utf-8", "surrogatepass")
    pool = w.string_pool([b"ab\xff\xfecd", cesu, "ok"], utf8=True)
    strings = list(StringPool(pool, 0, len(pool), "t"))
    assert strings == ["ab\ufffd\ufffdcd", "😀", "ok"]
    pool16 = w.string_pool([b"\x00\xd8A\x00"], utf8=False)  # a lone surrogate, then 'A'
    assert list(StringPool(pool16, 0, len(pool16), "t")) == ["\ufffdA"]


def test_last_string_pool_before_nodes_wins() -> None:
    document = w.axml(w.El("real", [w.Attr("k", "v", ns=None)]))
    decoy_pool = w.string_pool(["decoy"] * 8)
    forged = document[:8] + decoy_pool + document[8:]
    forged = forged[:4] + struct.pack("<I", len(forged)) + forged[8:]
    assert parse_axml(forged).tag == "real"


def test_unknown_chunks_are_skipped() -> None:
    bogus = w.chunk(0x0177, struct.pack("<II", 0, 0), b"\x99" * 12)
    element = parse_axml(w.axml(w.El("a", [], [w.El("b")]), extra=bogus))
    assert element.tag == "a" and [c.tag for c in element.children] == ["b"]


def test_declared_size_hides_the_tail() -> None:
    document = w.axml(w.El("a", [], [w.El("b")]))
    assert parse_axml(document + b"\0" * 64).tag == "a"
    with pytest.raises(FormatError):
        parse_axml(document[:4] + struct.pack("<I", 40) + document[8:])


def test_second_root_is_ignored() -> None:
    first = w.axml(w.El("first"))
    second = w.axml(w.El("second"))
    pos = 8
    while pos < len(second):  # append the second document's nodes after the first's
        ctype, _hs, size = struct.unpack_from("<HHI", second, pos)
        if ctype == 0x0102:
            break
        pos += size
    combined = first + second[pos:]
    combined = combined[:4] + struct.pack("<I", len(combined)) + combined[8:]
    assert parse_axml(combined) == XmlElement("first", {}, [], 2)


def test_deep_nesting_is_cut_not_recursed() -> None:
    element = w.El("leaf")
    for _ in range(MAX_DEPTH + 200):
        element = w.El("n", [], [element])
    root = parse_axml(w.axml(element))
    depth = 0
    node = root
    while node.children:
        node = node.children[0]
        depth += 1
    assert depth == MAX_DEPTH - 1
    assert to_xml(root).count("<n") == MAX_DEPTH


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"", "too short"),
        (b'<?xml version="1.0"?><manifest/>', "text XML"),
        (struct.pack("<HHI", 3, 4, 100) + b"\0" * 92, "bad binary XML header"),
        (struct.pack("<HHI", 3, 8, 16) + struct.pack("<HHI", 0x0180, 8, 8), "no XML element"),
        (struct.pack("<HHI", 3, 8, 24) + struct.pack("<HHI", 0x0001, 28, 4000) + b"\0" * 8, "runs past the end"),
    ],
)
def test_malformed_headers(data: bytes, message: str) -> None:
    with pytest.raises(FormatError, match=message) as info:
        parse_axml(data, "AndroidManifest.xml")
    assert info.value.file == "AndroidManifest.xml"


def test_huge_string_count_is_refused_without_allocating() -> None:
    pool = bytearray(w.string_pool(["a"]))
    struct.pack_into("<I", pool, 8, 0xFFFFFFFF)
    document = struct.pack("<HHI", 3, 8, 8 + len(pool)) + bytes(pool)
    with pytest.raises(FormatError, match="claims 4294967295 strings"):
        parse_axml(document)


def test_small_attribute_stride_is_refused() -> None:
    document = bytearray(w.axml(w.El("x", [w.Attr("a", "1", ns=None), w.Attr("b", "2", ns=None)])))
    at = document.find(struct.pack("<HH", 20, 20))
    struct.pack_into("<H", document, at + 2, 0)
    with pytest.raises(FormatError, match="attribute size 0"):
        parse_axml(bytes(document))


def test_attributes_past_the_node_are_refused() -> None:
    document = bytearray(w.axml(w.El("x", [w.Attr("a", "1", ns=None)])))
    at = document.find(struct.pack("<HHH", 20, 20, 1))
    struct.pack_into("<H", document, at + 4, 500)
    with pytest.raises(FormatError, match="attributes past its end"):
        parse_axml(bytes(document))


def test_overlapping_strings_hit_the_decode_budget() -> None:
    text = "x" * 60000
    pool = bytearray(w.string_pool([text]))
    count = 5000
    offsets = b"\0\0\0\0" * count
    body = pool[28 + 4 :]  # the string data after the single offset
    header = struct.pack("<IIIII", count, 0, 0, 28 + 4 * count, 0)
    crafted = w.chunk(0x0001, header, offsets + bytes(body))
    pool_view = StringPool(crafted, 0, len(crafted), "t")
    start = time.perf_counter()
    with pytest.raises(FormatError, match="overlap"):
        list(pool_view)
    assert time.perf_counter() - start < 1.0


# ---- fuzzing -------------------------------------------------------------------------------


def _parse_or_format_error(data: bytes) -> None:
    start = time.perf_counter()
    try:
        root = parse_axml(data)
    except FormatError as error:
        assert error.file == "AndroidManifest.xml"
        assert error.message
    else:
        to_xml(root)
    assert time.perf_counter() - start < 2.0


FUZZ = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@FUZZ
@given(st.binary(max_size=2048))
def test_random_bytes(data: bytes) -> None:
    _parse_or_format_error(data)


@FUZZ
@given(st.binary(max_size=512))
def test_random_bytes_behind_a_valid_header(tail: bytes) -> None:
    _parse_or_format_error(struct.pack("<HHI", 3, 8, 8 + len(tail)) + tail)


@FUZZ
@given(
    st.sampled_from([MANIFEST, OBFUSCATED]),
    st.lists(st.tuples(st.integers(0, len(MANIFEST) - 1), st.integers(0, 255)), min_size=1, max_size=8),
)
def test_mutated_fixture(base: bytes, flips: list[tuple[int, int]]) -> None:
    data = bytearray(base)
    for pos, value in flips:
        data[pos % len(data)] = value
    _parse_or_format_error(bytes(data))


@FUZZ
@given(st.sampled_from([MANIFEST, OBFUSCATED, NSC]), st.integers(0, len(MANIFEST)), st.binary(max_size=64))
def test_truncated_or_spliced_fixture(base: bytes, cut: int, junk: bytes) -> None:
    _parse_or_format_error(base[: cut % (len(base) + 1)])
    _parse_or_format_error(base[: cut % (len(base) + 1)] + junk + base[cut % (len(base) + 1) :])

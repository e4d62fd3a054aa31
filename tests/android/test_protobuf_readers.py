"""aapt2's protobuf XML and resource table (App Bundles): real aapt2 output and fuzzed bytes."""

from __future__ import annotations

import contextlib
import zipfile

from hypothesis import given, settings
from hypothesis import strategies as st

from appvet.android import protowire as pw
from appvet.android.arsc import parse_arsc
from appvet.android.axml import parse_axml
from appvet.android.protores import ProtoResourceTable, looks_like_proto_table, parse_resources_pb
from appvet.android.protoxml import looks_like_proto_xml, parse_proto_xml
from appvet.errors import FormatError
from tests.conftest import BUILT

AAB = zipfile.ZipFile(BUILT / "multisdk.aab")
PB_MANIFEST = AAB.read("base/manifest/AndroidManifest.xml")
PB_TABLE = AAB.read("base/resources.pb")
APK = zipfile.ZipFile(BUILT / "multisdk.apk")
# aapt (APK) and aapt2 (bundle) add their own build stamps; the rest comes from the same source.
STAMPS = {"platformBuildVersionCode", "platformBuildVersionName", "android:compileSdkVersion",
          "android:compileSdkVersionCodename"}


def _shape(element, table) -> tuple:  # type: ignore[no-untyped-def]
    # aapt and aapt2 number resource types differently (string is 0x03 in one, 0x01 in the other),
    # so references are compared by what they resolve to in each build's own table.
    def value(v):  # type: ignore[no-untyped-def]
        return ("ref", table.resolve(int(v[3:], 16))) if isinstance(v, str) and v.startswith("@0x") else v

    attrs = tuple(sorted((k, value(v)) for k, v in element.attrs.items() if k not in STAMPS))
    return element.tag, attrs, element.text, tuple(_shape(c, table) for c in element.children)


def test_aapt2_manifest_reads_as_the_aapt_manifest_of_the_same_source() -> None:
    assert looks_like_proto_xml(PB_MANIFEST) and not looks_like_proto_xml(APK.read("AndroidManifest.xml"))
    proto = parse_proto_xml(PB_MANIFEST)
    binary = parse_axml(APK.read("AndroidManifest.xml"))
    assert _shape(proto, parse_arsc(PB_TABLE)) == _shape(binary, parse_arsc(APK.read("resources.arsc")))
    app = proto.find_all("application")[0]
    assert isinstance(app.attrs["android:allowBackup"], bool) and app.attrs["android:label"].startswith("@0x7f")


def test_aapt2_resource_table_resolves_like_the_arsc() -> None:
    proto = parse_arsc(PB_TABLE, "resources.pb")
    binary = parse_arsc(APK.read("resources.arsc"))
    assert isinstance(proto, ProtoResourceTable) and proto.package_names == binary.package_names
    label = parse_proto_xml(PB_MANIFEST).find_all("application")[0].attrs["android:label"]
    binary_label = parse_axml(APK.read("AndroidManifest.xml")).find_all("application")[0].attrs["android:label"]
    ref, binary_ref = int(str(label)[3:], 16), int(str(binary_label)[3:], 16)
    assert proto.resolve(ref) == binary.resolve(binary_ref) == "Multi SDK Demo"
    assert proto.name(ref) == binary.name(binary_ref) == "string/app_name"
    assert set(binary.strings()) <= set(proto.strings())


@given(st.integers(min_value=0, max_value=2**64 - 1))
def test_varint_round_trip(value: int) -> None:
    encoded = pw.varint(value)
    assert pw.read_varint(memoryview(encoded), 0, "x") == (value, len(encoded))


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=512))
def test_random_bytes_raise_only_format_error(data: bytes) -> None:
    for parse in (parse_proto_xml, parse_resources_pb):
        with contextlib.suppress(FormatError):
            parse(b"\x0a" + data)


@settings(max_examples=300, deadline=None)
@given(st.data())
def test_mutated_aapt2_output_raises_only_format_error(data: st.DataObject) -> None:
    for source, parse in ((PB_MANIFEST, parse_proto_xml), (PB_TABLE, parse_resources_pb)):
        buf = bytearray(source)
        for _ in range(data.draw(st.integers(1, 8))):
            at = data.draw(st.integers(0, len(buf) - 1))
            buf[at] = data.draw(st.integers(0, 255))
        cut = data.draw(st.integers(1, len(buf)))
        try:
            result = parse(bytes(buf[:cut]))
        except FormatError:
            continue
        if isinstance(result, ProtoResourceTable):
            list(result.strings())
            result.resolve(0x7F010000)


def test_binary_xml_with_an_altered_chunk_type_is_still_read_as_binary_xml() -> None:
    # Android does not check the chunk type of binary XML; its header size (8) still tells it apart.
    manifest = bytearray(APK.read("AndroidManifest.xml"))
    manifest[0] = 0x0A
    assert not looks_like_proto_xml(bytes(manifest))
    assert parse_axml(bytes(manifest)).tag == "manifest"
    table = bytearray(APK.read("resources.arsc"))
    table[0] = 0x12
    assert not looks_like_proto_table(bytes(table))  # the binary reader decides, header size 12

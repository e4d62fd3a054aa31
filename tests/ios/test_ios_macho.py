"""The Mach-O reader on binaries built by clang and lld, checked against LIEF where LIEF reads the same thing."""

from __future__ import annotations

import lief
import pytest

from appvet.errors import FormatError
from appvet.ios.macho import fat_slices, parse_macho, swift_class_name
from tests.ios.ios_helpers import entry


@pytest.fixture(scope="module")
def main_bytes() -> bytes:
    return entry("demoshop.ipa", "DemoShop")


def test_main_executable(main_bytes: bytes) -> None:
    m = parse_macho(main_bytes, "DemoShop")
    assert (m.arch, m.filetype, m.platform, m.min_os, m.sdk) == ("arm64", "execute", "ios", "14.0", "17.2")
    assert set(m.objc_classes) == {"DemoAppDelegate", "UMConfigure", "MobClick"}
    assert {"CLLocationManager", "UIPasteboard", "ASIdentifierManager", "CTTelephonyNetworkInfo"} <= set(
        m.objc_class_refs)
    assert {"requestWhenInUseAuthorization", "canOpenURL:", "advertisingIdentifier", "identifierForVendor"} <= set(
        m.objc_selectors)
    assert "https://ulogs.umeng.com/unify_logs" in m.cfstrings
    assert ("@rpath/BUAdSDK.framework/BUAdSDK", "load") in m.libraries
    assert m.encryption is not None and m.encryption[2] == 0 and not m.encrypted
    assert m.code_signature and m.code_signature[:4] == b"\xfa\xde\x0c\xc0"


def test_methods_and_code_references(main_bytes: bytes) -> None:
    m = parse_macho(main_bytes, "DemoShop")
    assert {"-[DemoAppDelegate startTracking]", "+[MobClick idfa]", "+[UMConfigure deviceIDForIntegration]"} <= set(
        m.methods.values())
    refs = set(m.code_refs)
    assert ("+[MobClick idfa]", "class", "ASIdentifierManager") in refs
    assert ("+[MobClick idfa]", "selector", "advertisingIdentifier") in refs
    assert ("+[UMConfigure deviceIDForIntegration]", "selector", "identifierForVendor") in refs
    assert ("-[DemoAppDelegate startTracking]", "class", "CLLocationManager") in refs
    assert ("+[MobClick endpoint]", "string", "https://ulogs.umeng.com/unify_logs") in refs
    # C functions are called through stubs: the call is charged to the method making it.
    assert ("+[MobClick freeDisk]", "symbol", "_statfs") in refs
    assert not any(v == "_objc_msgSend" for _f, _k, v in refs)
    # Nothing of the SDK is charged to the app's own methods, nor the other way round.
    assert not any(f.startswith("-[DemoAppDelegate") and v == "advertisingIdentifier" for f, _k, v in refs)


def test_agrees_with_lief(tmp_path, main_bytes: bytes) -> None:  # type: ignore[no-untyped-def]
    for name in ("DemoShop", "Frameworks/BUAdSDK.framework/BUAdSDK", "PlugIns/Share.appex/Share"):
        data = entry("demoshop.ipa", name)
        path = tmp_path / "bin"
        path.write_bytes(data)
        ref = lief.MachO.parse(str(path)).at(0)
        m = parse_macho(data, name)
        linked = [lib.name for lib in ref.libraries if lib.command != lief.MachO.LoadCommand.TYPE.ID_DYLIB]
        assert [lib for lib, _how in m.libraries] == linked
        assert set(m.imports) == {s.name for s in ref.imported_symbols}
        assert m.load_commands == [f"LC_{c.command.name}" for c in ref.commands]
        assert [(s.segment, s.name) for s in m.sections] == [(s.segment_name, s.name) for s in ref.sections]
        assert m.uuid == bytes(ref.uuid.uuid).hex().upper()


def test_fat_binary_reads_arm64_and_says_so() -> None:
    data = entry("demoshop-fat.ipa", "DemoShop")
    assert [s.arch for s in fat_slices(data, "x") or []] == ["x86_64", "arm64"]
    m = parse_macho(data, "DemoShop")
    assert m.arch == "arm64" and m.slices == ("x86_64", "arm64")
    assert "fat binary with slices x86_64, arm64; read arm64" in m.notes
    assert "MobClick" in m.objc_classes


def test_encrypted_binary(tmp_path) -> None:  # type: ignore[no-untyped-def]
    data = entry("demoshop-encrypted.ipa", "DemoShop")
    m = parse_macho(data, "DemoShop")
    assert m.encrypted and m.encryption and m.encryption[2] == 1
    # What lies outside the encrypted range is still read ...
    assert ("@rpath/BUAdSDK.framework/BUAdSDK", "load") in m.libraries
    assert "_OBJC_CLASS_$_CLLocationManager" in m.imports
    # ... and nothing inside it is: the strings there are ciphertext on a real download.
    assert m.objc_classes == [] and m.cstrings == [] and m.cfstrings == [] and m.code_refs == []
    assert any(n.startswith("encrypted (cryptid 1") for n in m.notes)
    path = tmp_path / "enc"
    path.write_bytes(data)
    assert lief.MachO.parse(str(path)).at(0).encryption_info.crypt_id == 1


@pytest.mark.parametrize("data, message", [
    (b"", "too small"),
    (b"\x7fELF" + b"\0" * 60, "not a Mach-O"),
    (b"\xca\xfe\xba\xbe\x00\x00\x01\x00" + b"\0" * 40, "slices"),
    (b"\xcf\xfa\xed\xfe" + b"\xff" * 60, "load commands"),
])
def test_malformed_is_a_format_error(data: bytes, message: str) -> None:
    with pytest.raises(FormatError, match=message):
        parse_macho(data, "bad")


def test_truncated_everywhere_is_a_format_error_or_a_partial_read(main_bytes: bytes) -> None:
    for cut in range(0, len(main_bytes), 997):
        try:
            parse_macho(main_bytes[:cut], "cut")
        except FormatError:
            continue


def test_swift_class_names() -> None:
    assert swift_class_name("_TtC5MyApp14ViewController") == "MyApp.ViewController"
    assert swift_class_name("_TtCC5MyApp5Outer5Inner") == "MyApp.Outer.Inner"
    assert swift_class_name("_TtCs12_SwiftObject") == "Swift._SwiftObject"
    assert swift_class_name("UMConfigure") is None
    assert swift_class_name("_TtC5MyApp99Short") is None


def _chained_blob(pointer_format: int) -> bytes:
    """LC_DYLD_CHAINED_FIXUPS payload as dyld's fixup-chains.h lays it out: header, one segment's
    starts, two DYLD_CHAINED_IMPORT entries and their names."""
    import struct

    names = b"\0_OBJC_CLASS_$_CLLocationManager\0_objc_msgSend\0"
    starts = struct.pack("<II", 1, 8) + struct.pack("<IHHQIHH", 24, 0x4000, pointer_format, 0, 0, 1, 0)
    header_size = 28
    imports_off = header_size + len(starts)
    imports = struct.pack("<II", 1 | (1 << 9), 1 | (33 << 9))  # lib ordinal 1, name offsets 1 and 33
    symbols_off = imports_off + len(imports)
    header = struct.pack("<IIIIIII", 0, header_size, imports_off, symbols_off, 2, 1, 0)
    return header + starts + imports + names


def test_chained_fixups_imports_and_pointers() -> None:
    from appvet.ios.macho import MachO, _Reader

    blob = _chained_blob(6)  # DYLD_CHAINED_PTR_64_OFFSET, what arm64 iOS 14+ builds use
    r = _Reader(blob, "x", True)
    r.base = 0x100000000
    r._chained((0, len(blob)), MachO("arm64", "execute"))
    assert r.chained_format == 6
    assert r.chained_imports == ["_OBJC_CLASS_$_CLLocationManager", "_objc_msgSend"]
    assert r.decode_ptr((1 << 63) | 1) == ("bind", 1)
    assert r.decode_ptr((5 << 51) | 0x4000) == ("addr", 0x100004000)  # next-pointer bits are not address
    r.chained_format = 2  # DYLD_CHAINED_PTR_64: the target is a vmaddr
    assert r.decode_ptr(0x100008000) == ("addr", 0x100008000)
    r.chained_format = 1  # DYLD_CHAINED_PTR_ARM64E
    assert r.decode_ptr((1 << 63) | (1 << 62) | 7) == ("bind", 7)
    assert r.decode_ptr((1 << 63) | 0x4010) == ("addr", 0x100004010)  # authenticated rebase: an offset
    assert r.decode_ptr(0x100004020) == ("addr", 0x100004020)
    r.chained_format = 0  # classic dyld info: the file holds the address
    assert r.decode_ptr(0x100004020) == ("addr", 0x100004020) and r.decode_ptr(0) == ("none", 0)


def test_chained_fixups_truncated_is_a_note_not_a_crash() -> None:
    from appvet.ios.macho import MachO, _Reader

    blob = _chained_blob(6)[:40]
    m = MachO("arm64", "execute")
    r = _Reader(blob, "x", True)
    r._chained((0, len(blob)), m)
    assert r.chained_imports == [] and m.notes


def test_chained_fixup_imports_join_the_symbol_table_imports() -> None:
    """A thin arm64 file with a symbol table and chained fixups: imports named by either are reported once,
    symbol-table order first."""
    import struct

    blob = _chained_blob(6)
    strtab = b"\0_objc_msgSend\0"
    nlist = struct.pack("<IBBHQ", 1, 0x01, 0, 0, 0)  # undefined external
    header_size, cmds_size = 32, 24 + 16
    symoff = header_size + cmds_size
    stroff = symoff + len(nlist)
    fixups = stroff + len(strtab)
    header = struct.pack("<IIIIIII4x", 0xFEEDFACF, 0x0100000C, 0, 2, 2, cmds_size, 0)
    symtab = struct.pack("<IIIIII", 0x2, 24, symoff, 1, stroff, len(strtab))
    chained = struct.pack("<IIII", 0x80000034, 16, fixups, len(blob))
    m = parse_macho(header + symtab + chained + nlist + strtab + blob, "chained")
    assert m.imports == ["_objc_msgSend", "_OBJC_CLASS_$_CLLocationManager"]
    assert m.objc_class_refs == ["CLLocationManager"]

"""Signature verification against APKs signed by apksigner (and checked by ``apksigner verify``)."""

from __future__ import annotations

import struct
import zipfile
from io import BytesIO
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from appvet.android.verify import Signing, parse_jar_manifest, verify_apk
from appvet.errors import InputError
from appvet.ingest.zipread import open_zip

BUILT = Path(__file__).resolve().parents[1] / "fixtures" / "built"
US_SHA256 = "d3781175cfea7fe43d53c600917c85c728792756b4eeab59cac0a7a4e4997710"
CN_SHA256 = "5292035f128eb4c2538cc772f9a5c95beec28ef55bdd985bd3616fc5204b434b"


def verify(data: bytes, min_sdk: int | None = 21) -> Signing:
    archive = open_zip(data, "test.apk")
    return verify_apk(archive.data, archive.central_directory_offset, archive.names(),
                      lambda name: archive.read(name), min_sdk)


@pytest.mark.parametrize(("apk", "sha256"), [
    ("plain.apk", US_SHA256), ("multidex.apk", US_SHA256), ("reach.apk", US_SHA256), ("multisdk.apk", CN_SHA256),
    ("obfuscated.apk", CN_SHA256), ("bundle/split_extra.apk", US_SHA256),
])
def test_apksigner_outputs_verify_under_every_scheme(apk: str, sha256: str) -> None:
    result = verify((BUILT / apk).read_bytes())
    assert result.verified_schemes == ("v3", "v2", "v1")
    assert [(c.sha256, c.schemes) for c in result.signers] == [(sha256, ("v1", "v2", "v3"))]
    assert result.problems == []


def test_stray_signature_block_is_not_a_signer() -> None:
    result = verify((BUILT / "spoofed-signer.apk").read_bytes())
    assert result.verified_schemes == ("v2",)
    assert [c.organisation for c in result.signers] == ["Example Org"]
    [problem] = result.problems
    assert problem.kind == "stray-signature-file"
    assert problem.file == "META-INF/KNOWN.RSA"
    assert problem.certificate is not None and problem.certificate.organisation == "Tencent"
    assert not problem.refused


def test_tampered_v2_digest_leaves_no_signer() -> None:
    result = verify((BUILT / "spoofed-digest.apk").read_bytes())
    assert result.signers == [] and result.verified_schemes == ()
    [problem] = [p for p in result.problems if p.scheme == "v2"]
    assert problem.kind == "invalid-signature" and problem.refused
    assert problem.certificate is not None and problem.certificate.organisation == "Tencent"


def test_debug_key_is_a_problem_but_still_the_signer() -> None:
    result = verify((BUILT / "debug-signed.apk").read_bytes())
    assert [c.subject for c in result.signers] == ["CN=Android Debug,O=Android,C=US"]
    assert [p.kind for p in result.problems] == ["debug-key"]


def _stored_entry_offset(data: bytes, name: str) -> int:
    archive = open_zip(data, "t.apk")
    entry = archive.entries[name]
    assert entry.method == 0
    _sig, *_rest, name_len, extra_len = struct.unpack_from("<IHHHHHIIIHH", data, entry.header_offset)
    return entry.header_offset + 30 + name_len + extra_len


def test_changed_content_fails_every_scheme() -> None:
    data = bytearray((BUILT / "plain.apk").read_bytes())
    # resources.arsc is stored: change a byte of it and fix nothing else, as a repackager's slip would.
    data[_stored_entry_offset(bytes(data), "resources.arsc") + 100] ^= 0x01
    result = verify(bytes(data))
    assert result.signers == []
    failed = {p.scheme for p in result.problems if p.kind == "invalid-signature"}
    assert failed == {"v1", "v2", "v3"}
    assert any("content digest" in p.detail for p in result.problems if p.scheme == "v3")
    assert any("resources.arsc" in p.detail for p in result.problems if p.scheme == "v1")


def _rewrite(data: bytes, drop: set[str] = frozenset(), add: dict[str, bytes] | None = None) -> bytes:
    out = BytesIO()
    with zipfile.ZipFile(BytesIO(data)) as src, zipfile.ZipFile(out, "w") as dst:
        for info in src.infolist():
            if info.filename not in drop:
                dst.writestr(info, src.read(info))
        for name, blob in (add or {}).items():
            dst.writestr(name, blob)
    return out.getvalue()


def test_v1_only_apk_is_verified_and_stripping_is_detected() -> None:
    # Rewriting the zip drops the APK Signing Block; the .SF still says v2 and v3 were made.
    v1_only = _rewrite((BUILT / "plain.apk").read_bytes())
    result = verify(v1_only)
    assert result.signers == []
    assert {p.scheme for p in result.problems if p.kind == "stripped-scheme"} == {"v2", "v3"}


def test_v1_without_stripping_claim_verifies() -> None:
    data = (BUILT / "plain.apk").read_bytes()
    with zipfile.ZipFile(BytesIO(data)) as z:
        sf = z.read("META-INF/US.SF")
    assert b"X-Android-APK-Signed: 2, 3" in sf
    # Removing the claim changes the .SF, so its PKCS#7 signature must fail.
    forged = _rewrite(data, drop={"META-INF/US.SF"},
                      add={"META-INF/US.SF": sf.replace(b"X-Android-APK-Signed: 2, 3\r\n", b"")})
    result = verify(forged)
    assert result.signers == []
    assert any("PKCS#7 signature over the .SF" in p.detail for p in result.problems)


def test_v1_block_without_sf_is_stray_and_sf_without_block_is_ignored() -> None:
    data = _rewrite((BUILT / "plain.apk").read_bytes(), drop={"META-INF/US.SF"})
    result = verify(data)
    assert [p.kind for p in result.problems] == ["stray-signature-file"]
    assert result.signers == []


def test_manifest_continuation_lines_and_sections() -> None:
    text = (b"Manifest-Version: 1.0\r\nCreated-By: x\r\n\r\nName: res/a-very-long-name-that-is-\r\n continued.xml\r\n"
            b"SHA-256-Digest: abc=\r\n\r\nName: b\nSHA1-Digest: def=\n\n")
    sections = parse_jar_manifest(text)
    assert [s.name for s in sections] == [None, "res/a-very-long-name-that-is-continued.xml", "b"]
    assert sections[1].raw.endswith(b"abc=\r\n\r\n")
    assert b"".join(s.raw for s in sections) == text


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.tuples(st.integers(min_value=0), st.integers(min_value=1, max_value=255)), min_size=1,
                max_size=4))
def test_any_byte_change_in_signed_parts_never_verifies_nor_crashes(edits: list[tuple[int, int]]) -> None:
    data = bytearray((BUILT / "spoofed-signer.apk").read_bytes())
    for pos, delta in edits:
        data[pos % len(data)] = (data[pos % len(data)] + delta) % 256
    try:
        archive = open_zip(bytes(data), "t.apk")
        result = verify_apk(archive.data, archive.central_directory_offset, archive.names(),
                            lambda name: archive.read(name), 24)
    except InputError:
        return
    # Every byte of the file is covered by the v2 signature or is part of the block: a change
    # either breaks verification or leaves the file unreadable, never a different verified signer.
    assert all(c.organisation == "Example Org" for c in result.signers)
    if result.signers:
        assert bytes(data) == (BUILT / "spoofed-signer.apk").read_bytes() or _only_unsigned_bytes_changed(data)


def _only_unsigned_bytes_changed(data: bytearray) -> bool:
    """Bytes of the signing block outside the signer (padding ids, the pair's unread tail) are not signed."""
    original = (BUILT / "spoofed-signer.apk").read_bytes()
    changed = [i for i, (a, b) in enumerate(zip(original, data, strict=True)) if a != b]
    magic = original.rfind(b"APK Sig Block 42")
    (size,) = struct.unpack_from("<Q", original, magic - 8)
    start = magic + 16 - size - 8
    return all(start <= i < magic + 16 for i in changed)


def test_signer_found_when_its_issuer_is_encoded_with_other_string_types() -> None:
    from asn1crypto import cms
    from asn1crypto import x509 as asn1_x509

    from appvet.android.verify import _verify_pkcs7

    with zipfile.ZipFile(BUILT / "plain.apk") as z:
        block, sf = z.read("META-INF/US.RSA"), z.read("META-INF/US.SF")
    info = cms.ContentInfo.load(block)
    sid = info["content"]["signer_infos"][0]["sid"].chosen
    # The same name, every attribute re-encoded as a UTF8String (jarsigner and keytool differ here).
    sid["issuer"] = asn1_x509.Name.build(sid["issuer"].native, use_printable=False)
    rebuilt = cms.ContentInfo.load(info.dump(force=True))
    assert rebuilt["content"]["signer_infos"][0]["sid"].chosen["issuer"].dump() != \
        cms.ContentInfo.load(block)["content"]["signer_infos"][0]["sid"].chosen["issuer"].dump()
    der, problem = _verify_pkcs7(rebuilt.dump(), sf)
    assert problem == "" and der is not None


def test_bytes_between_central_directory_and_end_record_hide_the_block() -> None:
    data = (BUILT / "plain.apk").read_bytes()
    eocd = data.rfind(b"PK\x05\x06")
    # Android (and apksig) then find no v2/v3 signature and fall back to v1, whose .SF says v2 and v3
    # were made: the APK is refused.
    result = verify(data[:eocd] + b"\0" * 16 + data[eocd:])
    assert result.signers == []
    assert any("not immediately followed" in note for note in result.unreadable)
    assert {p.kind for p in result.problems} == {"stripped-scheme"}


def _signed_attrs_pkcs7(tagged: bool) -> tuple[bytes, bytes]:
    """plain.apk's v1 block re-signed by the fixture key with signed attributes, as some signers write it."""
    import hashlib

    from asn1crypto import algos, cms
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import padding
    from cryptography.hazmat.primitives.serialization import pkcs12

    key, _cert, _ = pkcs12.load_key_and_certificates(
        (BUILT.parent / "keys" / "us.p12").read_bytes(), b"appvet-fixtures")
    with zipfile.ZipFile(BUILT / "plain.apk") as z:
        block, sf = z.read("META-INF/US.RSA"), z.read("META-INF/US.SF")
    info = cms.ContentInfo.load(block)
    si = info["content"]["signer_infos"][0]
    si["digest_algorithm"] = algos.DigestAlgorithm({"algorithm": "sha256"})
    si["signed_attrs"] = cms.CMSAttributes([
        cms.CMSAttribute({"type": "content_type", "values": ["data"]}),
        cms.CMSAttribute({"type": "message_digest", "values": [hashlib.sha256(sf).digest()]}),
    ])
    encoded = si["signed_attrs"].dump()
    signed = encoded if tagged else b"\x31" + encoded[1:]
    si["signature"] = key.sign(signed, padding.PKCS1v15(), hashes.SHA256())  # type: ignore[union-attr]
    return cms.ContentInfo.load(info.dump(force=True)).dump(), sf


@pytest.mark.parametrize("tagged", [False, True])
def test_signed_attributes_verify_as_a_set_or_with_their_tag(tagged: bool) -> None:
    from appvet.android.verify import _verify_pkcs7

    block, sf = _signed_attrs_pkcs7(tagged)
    assert _verify_pkcs7(block, sf)[1] == ""
    assert "does not match" in _verify_pkcs7(block, sf + b"\r\n")[1]

"""Signer certificates of APKs signed by apksigner (tests/android/data/signing/build.sh).

The expected SHA-256 digests are the ones ``apksigner verify --print-certs`` prints for these files.
"""

from __future__ import annotations

import contextlib
import datetime
import struct
import warnings
import zipfile
from pathlib import Path

import pytest
from asn1crypto import cms
from asn1crypto import x509 as asn1_x509
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.serialization import Encoding
from cryptography.x509.oid import NameOID
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from appvet.android import signing
from appvet.android.signing import (
    V2_BLOCK_ID,
    V3_BLOCK_ID,
    V31_BLOCK_ID,
    describe_certificate,
    find_signing_block,
    read_block_certificates,
    read_v1_certificates,
    signer_certificates,
)
from appvet.errors import FormatError
from appvet.model import Certificate

DATA = Path(__file__).parent / "data" / "signing"

CN_SHA256 = "8dd9ba233ad419aa1132fa0b9654c685100027e2d499d45885c0a7ce8954316b"
US_SHA256 = "bae6ba5538aca4ed4424a4861a1a085146afaf98f767f98da4a8a0b4fa8a04f7"
VERITY_PADDING_ID = 0x42726577


def cn_cert(schemes: tuple[str, ...]) -> Certificate:
    name = "CN=Test,O=Beijing Test Technology Co Ltd,L=Beijing,C=CN"
    return Certificate(
        schemes=schemes,
        subject=name,
        issuer=name,
        organisation="Beijing Test Technology Co Ltd",
        country="CN",
        serial="415259bf4a999108",
        not_before="2024-01-01T00:00:00Z",
        not_after="2048-12-25T00:00:00Z",
        sha256=CN_SHA256,
    )


def us_cert(schemes: tuple[str, ...]) -> Certificate:
    name = "CN=Example Signer,O=Example Corp,C=US"
    return Certificate(
        schemes=schemes,
        subject=name,
        issuer=name,
        organisation="Example Corp",
        country="US",
        serial="f5142dc0b5b083d4",
        not_before="2024-01-01T00:00:00Z",
        not_after="2048-12-25T00:00:00Z",
        sha256=US_SHA256,
    )


def load(name: str) -> tuple[bytes, dict[str, bytes], int]:
    """The APK's bytes, its v1 signature entries and its central directory offset (from the EOCD)."""
    data = (DATA / name).read_bytes()
    with zipfile.ZipFile(DATA / name) as archive:
        v1 = {
            entry: archive.read(entry)
            for entry in archive.namelist()
            if entry.startswith("META-INF/") and entry.rsplit(".", 1)[-1] in ("RSA", "DSA", "EC")
        }
    eocd = data.rfind(b"PK\x05\x06")
    (cd_offset,) = struct.unpack_from("<I", data, eocd + 16)
    return data, v1, cd_offset


# ------------------------------------------------------------------------------ real APKs


@pytest.mark.parametrize(
    ("apk", "expected"),
    [
        ("v1v2v3.apk", [cn_cert(("v1", "v2", "v3"))]),
        ("v1-only.apk", [us_cert(("v1",))]),
        ("v2-only.apk", [us_cert(("v2",))]),
        ("two-signers.apk", [cn_cert(("v1", "v2")), us_cert(("v1", "v2"))]),
        # Key rotation: the old key signs v1 and v2, the new one v3.
        ("rotated.apk", [cn_cert(("v1", "v2")), us_cert(("v3",))]),
    ],
)
def test_signer_certificates_of_signed_apks(apk: str, expected: list[Certificate]) -> None:
    data, v1, cd_offset = load(apk)
    assert signer_certificates(v1, data, cd_offset) == expected


def test_memoryview_input_gives_the_same_result() -> None:
    data, v1, cd_offset = load("v1v2v3.apk")
    assert signer_certificates(v1, memoryview(data), cd_offset) == [cn_cert(("v1", "v2", "v3"))]


def test_without_the_archive_only_v1_is_read() -> None:
    _, v1, _ = load("v1v2v3.apk")
    assert signer_certificates(v1, None, None) == [cn_cert(("v1",))]


def test_v1_certificates_name_their_entries() -> None:
    _, v1, _ = load("two-signers.apk")
    found = read_v1_certificates(v1)
    assert [name for _, name in found] == ["META-INF/CN.RSA", "META-INF/US.EC"]
    assert [describe_certificate(der, ("v1",)).country for der, _ in found] == ["CN", "US"]


def test_signing_block_pairs() -> None:
    data, _, cd_offset = load("v1v2v3.apk")
    block = find_signing_block(data, cd_offset)
    assert set(block) == {V2_BLOCK_ID, V3_BLOCK_ID, VERITY_PADDING_ID}
    assert [scheme for _, scheme in read_block_certificates(block)] == ["v2", "v3"]


def test_v1_only_apk_has_no_signing_block() -> None:
    data, _, cd_offset = load("v1-only.apk")
    assert find_signing_block(data, cd_offset) == {}
    assert read_block_certificates({}) == []


def test_v31_block_is_read() -> None:
    # This apksigner cannot write v3.1 (it targets rotation on API 33+), so relabel the v3 block:
    # v3.1 has the v3 layout, and the signature is not checked.
    data, v1, cd_offset = load("rotated.apk")
    v3_id = struct.pack("<I", V3_BLOCK_ID)
    block_start = cd_offset - (struct.unpack_from("<Q", data, cd_offset - 24)[0] + 8)
    where = data.index(v3_id, block_start, cd_offset)
    relabelled = data[:where] + struct.pack("<I", V31_BLOCK_ID) + data[where + 4 :]
    block = find_signing_block(relabelled, cd_offset)
    assert set(block) == {V2_BLOCK_ID, V31_BLOCK_ID, VERITY_PADDING_ID}
    assert signer_certificates(v1, relabelled, cd_offset) == [cn_cert(("v1", "v2")), us_cert(("v3.1",))]


def test_same_certificate_in_v3_and_v31_is_merged() -> None:
    data, _, cd_offset = load("rotated.apk")
    block = find_signing_block(data, cd_offset)
    both = {V3_BLOCK_ID: block[V3_BLOCK_ID], V31_BLOCK_ID: block[V3_BLOCK_ID]}
    assert [s for _, s in read_block_certificates(both)] == ["v3", "v3.1"]


# ------------------------------------------------------------------------------ malformed


def block_region(name: str) -> tuple[bytes, int, int]:
    data, _, cd_offset = load(name)
    size = struct.unpack_from("<Q", data, cd_offset - 24)[0]
    return data, cd_offset - size - 8, cd_offset


def test_differing_size_fields_are_rejected() -> None:
    data, start, cd_offset = block_region("v1v2v3.apk")
    bad = data[:start] + struct.pack("<Q", 1234) + data[start + 8 :]
    with pytest.raises(FormatError, match="size fields differ"):
        find_signing_block(bad, cd_offset)


def test_block_size_larger_than_the_file_is_rejected() -> None:
    data, _, cd_offset = block_region("v1v2v3.apk")
    bad = data[: cd_offset - 24] + struct.pack("<Q", 2**63) + data[cd_offset - 16 :]
    with pytest.raises(FormatError, match="does not fit"):
        find_signing_block(bad, cd_offset)


def test_pair_length_out_of_bounds_is_rejected() -> None:
    data, start, cd_offset = block_region("v1v2v3.apk")
    bad = data[: start + 8] + struct.pack("<Q", 10**9) + data[start + 16 :]
    with pytest.raises(FormatError, match="pair length"):
        find_signing_block(bad, cd_offset)


def test_central_directory_offset_outside_the_file_is_rejected() -> None:
    data, _, _ = load("v1v2v3.apk")
    with pytest.raises(FormatError, match="outside the file"):
        find_signing_block(data, len(data) + 1)


def test_certificate_length_beyond_its_signer_is_rejected() -> None:
    data, _, cd_offset = load("v2-only.apk")
    value = bytearray(find_signing_block(data, cd_offset)[V2_BLOCK_ID])
    # value: sequence length, signer length, signed data length, digests, certificates length, ...
    digests_length = struct.unpack_from("<I", value, 12)[0]
    certificates_at = 16 + digests_length
    struct.pack_into("<I", value, certificates_at + 4, 0xFFFFFF)
    with pytest.raises(FormatError, match="certificate length"):
        read_block_certificates({V2_BLOCK_ID: bytes(value)})


def test_signer_without_certificates_is_rejected() -> None:
    empty_signed_data = struct.pack("<II", 0, 0)  # no digests, no certificates
    signer = struct.pack("<I", len(empty_signed_data)) + empty_signed_data
    value = struct.pack("<II", len(signer) + 4, len(signer)) + signer
    with pytest.raises(FormatError, match="no certificate"):
        read_block_certificates({V2_BLOCK_ID: value})


def test_pkcs7_without_signed_data_is_rejected() -> None:
    data = cms.ContentInfo({"content_type": "data", "content": b"hello"}).dump()
    with pytest.raises(FormatError, match="not signed data"):
        read_v1_certificates({"META-INF/X.RSA": data})


def test_pkcs7_without_certificates_is_rejected() -> None:
    signed_data = cms.SignedData(
        {
            "version": "v1",
            "digest_algorithms": [],
            "encap_content_info": {"content_type": "data"},
            "signer_infos": [],
        }
    )
    data = cms.ContentInfo({"content_type": "signed_data", "content": signed_data}).dump()
    with pytest.raises(FormatError, match="no certificate"):
        read_v1_certificates({"META-INF/A.RSA": data})


def test_garbage_v1_entry_is_rejected_with_its_name() -> None:
    with pytest.raises(FormatError) as caught:
        read_v1_certificates({"META-INF/CERT.RSA": b"\x30\x82\xff\xff garbage"})
    assert caught.value.file == "META-INF/CERT.RSA"


# ------------------------------------------------------------- certificates cryptography rejects


def altered_certificate(**fields: object) -> bytes:
    """The CN test certificate with some to-be-signed fields replaced (its signature no longer matches)."""
    _, v1, _ = load("v1v2v3.apk")
    original = asn1_x509.Certificate.load(read_v1_certificates(v1)[0][0])
    tbs = original["tbs_certificate"].copy()
    for key, value in fields.items():
        tbs[key] = value
    return asn1_x509.Certificate(
        {
            "tbs_certificate": tbs,
            "signature_algorithm": original["signature_algorithm"],
            "signature_value": original["signature_value"],
        }
    ).dump(force=True)


def test_negative_serial_falls_back_to_asn1crypto() -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        described = describe_certificate(altered_certificate(serial_number=-0x3039), ("v1",))
    expected = cn_cert(("v1",))
    assert described.serial == "-3039"
    assert described.subject == expected.subject
    assert described.issuer == expected.issuer
    assert (described.organisation, described.country) == ("Beijing Test Technology Co Ltd", "CN")
    assert (described.not_before, described.not_after) == (expected.not_before, expected.not_after)
    assert described.sha256 != expected.sha256


def test_country_is_reported_as_written_without_warnings() -> None:
    subject = asn1_x509.Name.build({"country_name": "CHN", "organization_name": "Example Org"})
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        described = describe_certificate(altered_certificate(subject=subject), ("v2",))
    assert (described.country, described.organisation) == ("CHN", "Example Org")
    assert described.subject == "O=Example Org,C=CHN"


def test_both_readers_agree_on_awkward_names() -> None:
    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name(
        [
            x509.RelativeDistinguishedName([x509.NameAttribute(NameOID.COUNTRY_NAME, "CN")]),
            x509.RelativeDistinguishedName(
                [
                    x509.NameAttribute(NameOID.ORGANIZATION_NAME, 'Acme, Inc.+<x>;"q"\\'),
                    x509.NameAttribute(NameOID.ORGANIZATIONAL_UNIT_NAME, "#unit "),
                ]
            ),
            x509.RelativeDistinguishedName([x509.NameAttribute(NameOID.EMAIL_ADDRESS, "a@example.com")]),
            x509.RelativeDistinguishedName([x509.NameAttribute(NameOID.COMMON_NAME, " 测试 ")]),
        ]
    )
    moment = datetime.datetime(2030, 5, 6, 7, 8, 9, tzinfo=datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(0xABCDEF)
        .not_valid_before(moment)
        .not_valid_after(moment + datetime.timedelta(days=1))
        .sign(key, hashes.SHA256())
    )
    der = cert.public_bytes(Encoding.DER)
    strict = describe_certificate(der, ("v2",))
    lenient = signing._describe_lenient(der, ("v2",), strict.sha256)
    assert strict == lenient
    assert strict.organisation == 'Acme, Inc.+<x>;"q"\\'
    assert strict.country == "CN"
    assert strict.serial == "abcdef"
    assert strict.not_before == "2030-05-06T07:08:09Z"
    assert strict.subject.startswith("CN=\\ 测试\\ ,1.2.840.113549.1.9.1=a@example.com,")


def test_real_certificates_read_the_same_by_both_readers() -> None:
    _, v1, _ = load("two-signers.apk")
    for der, _name in read_v1_certificates(v1):
        strict = describe_certificate(der, ("v1",))
        assert signing._describe_lenient(der, ("v1",), strict.sha256) == strict


def test_garbage_certificate_is_a_format_error() -> None:
    with pytest.raises(FormatError, match=r"X\.509"):
        describe_certificate(b"\x30\x03\x02\x01\x01", ("v1",))


# ------------------------------------------------------------------------------- properties

_FUZZ = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def _mutate(data: bytes, edits: list[tuple[int, int]], cut: int) -> bytes:
    out = bytearray(data)
    for where, byte in edits:
        out[where % len(out)] = byte
    return bytes(out[: max(1, len(out) - cut)])


def _read_everything(data: bytes, cd_offset: int) -> None:
    try:
        block = find_signing_block(data, cd_offset)
        for der, scheme in read_block_certificates(block):
            describe_certificate(der, (scheme,))
    except FormatError:
        pass


@_FUZZ
@given(
    edits=st.lists(st.tuples(st.integers(0, 2**32), st.integers(0, 255)), max_size=8),
    cut=st.integers(0, 64),
)
def test_mutated_signing_block_parses_or_raises_format_error(edits: list[tuple[int, int]], cut: int) -> None:
    data, start, cd_offset = block_region("rotated.apk")
    region = data[start:cd_offset]
    mutated = _mutate(region, edits, cut)
    _read_everything(mutated, len(mutated))


@_FUZZ
@given(
    edits=st.lists(st.tuples(st.integers(0, 2**32), st.integers(0, 255)), max_size=8),
    cut=st.integers(0, 64),
)
def test_mutated_scheme_block_parses_or_raises_format_error(edits: list[tuple[int, int]], cut: int) -> None:
    data, _, cd_offset = load("two-signers.apk")
    value = find_signing_block(data, cd_offset)[V2_BLOCK_ID]
    try:
        for der, scheme in read_block_certificates({V3_BLOCK_ID: _mutate(value, edits, cut)}):
            describe_certificate(der, (scheme,))
    except FormatError:
        pass


@_FUZZ
@given(data=st.binary(max_size=200), offset=st.integers(-4, 210))
def test_random_bytes_give_a_block_or_format_error(data: bytes, offset: int) -> None:
    tail = b"APK Sig Block 42"
    _read_everything(data + tail, offset)
    _read_everything(data, offset)


@_FUZZ
@given(
    edits=st.lists(st.tuples(st.integers(0, 2**32), st.integers(0, 255)), max_size=8),
    cut=st.integers(0, 200),
    entry=st.sampled_from(["META-INF/CN.RSA", "META-INF/US.EC"]),
)
def test_mutated_pkcs7_parses_or_raises_format_error(edits: list[tuple[int, int]], cut: int, entry: str) -> None:
    _, v1, _ = load("two-signers.apk")
    try:
        for der, _name in read_v1_certificates({entry: _mutate(v1[entry], edits, cut)}):
            describe_certificate(der, ("v1",))
    except FormatError:
        pass


@_FUZZ
@given(data=st.binary(max_size=300))
def test_random_certificate_bytes_describe_or_raise_format_error(data: bytes) -> None:
    with contextlib.suppress(FormatError):
        describe_certificate(data, ("v1",))


@_FUZZ
@given(
    edits=st.lists(st.tuples(st.integers(0, 2**32), st.integers(0, 255)), min_size=1, max_size=6),
    cut=st.integers(0, 40),
)
def test_mutated_certificate_describes_or_raises_format_error(edits: list[tuple[int, int]], cut: int) -> None:
    # Most mutations make cryptography refuse the certificate, which sends it to the fallback reader.
    _, v1, _ = load("v1-only.apk")
    der = read_v1_certificates(v1)[0][0]
    try:
        described = describe_certificate(_mutate(der, edits, cut), ("v1",))
    except FormatError:
        return
    assert len(described.sha256) == 64

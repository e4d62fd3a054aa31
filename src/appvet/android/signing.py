"""Who signed an APK: the signer certificates of the v1 (JAR), v2, v3 and v3.1 signature schemes.

Nothing here verifies a signature or a digest: this module reads who *claims* to have signed. A
tampered or spoofed APK can list a certificate here that Android ignores or refuses, so a review
takes its signers from ``appvet.android.verify``, which checks each claim and keeps only the
signers Android would accept.

Formats, from the Android source documentation ("APK Signature Scheme v2" and "v3" on
source.android.com):

* v1 is JAR signing: ``META-INF/<name>.RSA|.DSA|.EC`` hold a PKCS#7 / CMS ``SignedData`` whose
  ``certificates`` set carries the signer's certificate (and sometimes its chain).
* v2, v3 and v3.1 live in the *APK Signing Block*, which sits immediately before the ZIP central
  directory::

      uint64 size of block (excluding this field)
      repeated: uint64 length, uint32 id, value (length - 4 bytes)
      uint64 size of block (same as the first)
      16 bytes "APK Sig Block 42"

  The value under each scheme's id is a uint32-length-prefixed sequence of uint32-length-prefixed
  signers; a signer starts with length-prefixed *signed data*, which starts with a length-prefixed
  sequence of digests followed by a length-prefixed sequence of length-prefixed DER certificates.
  v3 and v3.1 add fields after those, which this reader does not need. All integers are
  little-endian.

Every length prefix is checked against the bytes that contain it, so a hostile block can make this
module raise ``FormatError`` but never read out of bounds, allocate more than the input, or loop.
"""

from __future__ import annotations

import hashlib
import struct
import warnings
from collections.abc import Iterator, Mapping
from datetime import UTC, datetime

from asn1crypto import cms
from asn1crypto import x509 as asn1_x509
from cryptography import x509
from cryptography.utils import CryptographyDeprecationWarning
from cryptography.x509.oid import NameOID

from appvet.errors import FormatError
from appvet.model import Certificate

APK_SIG_BLOCK_MAGIC = b"APK Sig Block 42"
V2_BLOCK_ID = 0x7109871A
V3_BLOCK_ID = 0xF05368C0
V31_BLOCK_ID = 0x1B93AD61

SCHEME_BY_BLOCK_ID: dict[int, str] = {V2_BLOCK_ID: "v2", V3_BLOCK_ID: "v3", V31_BLOCK_ID: "v3.1"}
SCHEME_ORDER: dict[str, int] = {"v1": 0, "v2": 1, "v3": 2, "v3.1": 3}

MAX_CERTIFICATES = 1024
"""Real APKs carry one to a handful; the cap bounds the X.509 parsing a crafted block can cause."""

_BLOCK_NAME = "APK Signing Block"
_FOOTER_SIZE = 8 + len(APK_SIG_BLOCK_MAGIC)
_U32 = struct.Struct("<I")
_U64 = struct.Struct("<Q")

# Any of these can come out of asn1crypto's lazy parsing of a malformed structure.
_ASN1_ERRORS = (ValueError, TypeError, KeyError, IndexError, OverflowError, AttributeError, RecursionError)


# --------------------------------------------------------------------------------------------- v1


def read_v1_certificates(entries: Mapping[str, bytes]) -> list[tuple[bytes, str]]:
    """The certificates of the JAR signature files, as ``(DER, entry name)``, entries in name order.

    ``entries`` maps ``META-INF/*.RSA|*.DSA|*.EC`` names to their bytes. Every certificate of each
    PKCS#7 ``SignedData`` is returned (usually just the signer's); the signature is not verified.
    """
    found: list[tuple[bytes, str]] = []
    for name in sorted(entries):
        for der in _pkcs7_certificates(entries[name], name):
            found.append((der, name))
            if len(found) > MAX_CERTIFICATES:
                raise FormatError(f"more than {MAX_CERTIFICATES} certificates in v1 signatures", file=name)
    return found


def _pkcs7_certificates(data: bytes, name: str) -> list[bytes]:
    try:
        info = cms.ContentInfo.load(bytes(data))
        if info["content_type"].native != "signed_data":
            raise FormatError(f"PKCS#7 content is {info['content_type'].native!r}, not signed data", file=name)
        certificates = info["content"]["certificates"]
        ders = [choice.chosen.dump() for choice in certificates if choice.name == "certificate"]
    except _ASN1_ERRORS as exc:
        raise FormatError(f"malformed PKCS#7 signature: {_first_line(exc)}", file=name) from None
    if not ders:
        raise FormatError("PKCS#7 signature carries no certificate", file=name)
    return ders


# ----------------------------------------------------------------------------- APK Signing Block


def find_signing_block(apk: bytes | memoryview, central_directory_offset: int) -> dict[int, bytes]:
    """The ID-value pairs of the APK Signing Block ending at ``central_directory_offset``.

    Returns ``{}`` when no block is there (the magic is absent: a v1-only or unsigned APK). Scheme
    blocks (``V2_BLOCK_ID``, ``V3_BLOCK_ID``, ``V31_BLOCK_ID``) and any other pair (verity
    padding, source stamp, ...) are returned raw. When an id repeats, the first value wins, as in
    the platform's lookup. Raises ``FormatError`` when the block is there but inconsistent.
    """
    view = memoryview(apk).cast("B")
    end = central_directory_offset
    if not 0 <= end <= len(view):
        raise FormatError(f"central directory offset {end} outside the file ({len(view)} bytes)", file=_BLOCK_NAME)
    if end < _FOOTER_SIZE + 8 or bytes(view[end - len(APK_SIG_BLOCK_MAGIC) : end]) != APK_SIG_BLOCK_MAGIC:
        return {}
    (size,) = _U64.unpack_from(view, end - _FOOTER_SIZE)
    # The size counts the pairs, the second size field and the magic, but not the first size field.
    if size < _FOOTER_SIZE or size > end - 8:
        raise FormatError(f"block size {size} does not fit before offset {end}", file=_BLOCK_NAME)
    start = end - size - 8
    (head_size,) = _U64.unpack_from(view, start)
    if head_size != size:
        raise FormatError(f"block size fields differ ({head_size} != {size})", file=_BLOCK_NAME)
    return _id_value_pairs(view[start + 8 : end - _FOOTER_SIZE])


def _id_value_pairs(pairs: memoryview) -> dict[int, bytes]:
    found: dict[int, bytes] = {}
    pos = 0
    while pos < len(pairs):
        if len(pairs) - pos < 8:
            raise FormatError(f"truncated ID-value pair length at {pos}", file=_BLOCK_NAME)
        (length,) = _U64.unpack_from(pairs, pos)
        pos += 8
        if length < 4 or length > len(pairs) - pos:
            raise FormatError(f"ID-value pair length {length} out of bounds at {pos - 8}", file=_BLOCK_NAME)
        (pair_id,) = _U32.unpack_from(pairs, pos)
        found.setdefault(pair_id, bytes(pairs[pos + 4 : pos + length]))
        pos += length
    return found


def read_block_certificates(block: Mapping[int, bytes]) -> list[tuple[bytes, str]]:
    """The certificates of the v2, v3 and v3.1 signers, as ``(DER, scheme)``, in that scheme order.

    Each signer's certificate list is returned whole (its first entry is the signing certificate,
    any others its chain). Signatures, digests and v3's proof-of-rotation lineage are not read;
    nothing is verified.
    """
    found: list[tuple[bytes, str]] = []
    for block_id, scheme in SCHEME_BY_BLOCK_ID.items():
        value = block.get(block_id)
        if value is None:
            continue
        for der in _scheme_certificates(memoryview(value), scheme):
            found.append((der, scheme))
            if len(found) > MAX_CERTIFICATES:
                raise FormatError(f"more than {MAX_CERTIFICATES} certificates", file=_block_label(scheme))
    return found


def _scheme_certificates(value: memoryview, scheme: str) -> Iterator[bytes]:
    label = _block_label(scheme)
    signers = _Prefixed(value, label, "signer sequence")
    signer_sequence = signers.take()
    signers.expect_end()
    count = 0
    for signer in _Prefixed(signer_sequence, label, "signer").each():
        count += 1
        # The signer's later fields (signatures, public key, SDK range) are not needed here.
        signed_data = _Prefixed(signer, label, "signed data").take()
        fields = _Prefixed(signed_data, label, "signed data")
        fields.take()  # digests
        certificates = list(_Prefixed(fields.take(), label, "certificate").each())
        if not certificates:
            raise FormatError(f"signer {count} lists no certificate", file=label)
        for der in certificates:
            if not der:
                raise FormatError(f"signer {count} has an empty certificate", file=label)
            yield bytes(der)
    if count == 0:
        raise FormatError("no signer", file=label)


class _Prefixed:
    """Reads uint32-length-prefixed items from a buffer, each bounded by what is left of it."""

    def __init__(self, buf: memoryview, label: str, what: str) -> None:
        self._buf = buf
        self._pos = 0
        self._label = label
        self._what = what

    def take(self) -> memoryview:
        left = len(self._buf) - self._pos
        if left < 4:
            raise FormatError(f"truncated {self._what} length at {self._pos}", file=self._label)
        (length,) = _U32.unpack_from(self._buf, self._pos)
        if length > left - 4:
            raise FormatError(
                f"{self._what} length {length} exceeds the {left - 4} bytes left at {self._pos}",
                file=self._label,
            )
        start = self._pos + 4
        self._pos = start + length
        return self._buf[start : self._pos]

    def each(self) -> Iterator[memoryview]:
        """Every item up to the end of the buffer; each consumes at least 4 bytes, so this ends."""
        while self._pos < len(self._buf):
            yield self.take()

    def remaining(self) -> int:
        return len(self._buf) - self._pos

    def u32(self) -> int:
        """A bare uint32 (v3's SDK range fields are not length-prefixed)."""
        if self.remaining() < 4:
            raise FormatError(f"truncated {self._what} at {self._pos}", file=self._label)
        (value,) = _U32.unpack_from(self._buf, self._pos)
        self._pos += 4
        return value

    def expect_end(self) -> None:
        if self._pos != len(self._buf):
            raise FormatError(f"{len(self._buf) - self._pos} stray bytes after the {self._what}", file=self._label)


def _block_label(scheme: str) -> str:
    return f"APK Signature Scheme {scheme} block"


# ------------------------------------------------------------------------------- certificates


def describe_certificate(der: bytes, schemes: tuple[str, ...]) -> Certificate:
    """The fields of one DER X.509 certificate that say who it names. Nothing is verified.

    ``cryptography`` reads standard certificates. Android's installer accepts some that it
    rejects or warns about (a negative or zero serial number, loose encodings); those are read
    again with asn1crypto, so a certificate the platform would install is still described.
    """
    digest = hashlib.sha256(der).hexdigest()
    try:
        with warnings.catch_warnings():
            # Its other complaints (a three-letter country, say) are about names we report as written.
            warnings.simplefilter("ignore", UserWarning)
            # cryptography announces its future rejections as warnings; take the fallback now.
            warnings.simplefilter("error", CryptographyDeprecationWarning)
            return _describe_strict(der, schemes, digest)
    except (ValueError, TypeError, x509.InvalidVersion, CryptographyDeprecationWarning):
        pass
    try:
        return _describe_lenient(der, schemes, digest)
    except _ASN1_ERRORS as exc:
        raise FormatError(f"malformed X.509 certificate: {_first_line(exc)}", file=f"certificate {digest}") from None


def _describe_strict(der: bytes, schemes: tuple[str, ...], digest: str) -> Certificate:
    cert = x509.load_der_x509_certificate(der)
    subject = cert.subject
    return Certificate(
        schemes=schemes,
        subject=subject.rfc4514_string(),
        issuer=cert.issuer.rfc4514_string(),
        organisation=_first_text(subject.get_attributes_for_oid(NameOID.ORGANIZATION_NAME)),
        country=_first_text(subject.get_attributes_for_oid(NameOID.COUNTRY_NAME)),
        serial=_hex(cert.serial_number),
        not_before=_iso(cert.not_valid_before_utc),
        not_after=_iso(cert.not_valid_after_utc),
        sha256=digest,
    )


def _first_text(attributes: list[x509.NameAttribute]) -> str | None:
    for attribute in attributes:
        if isinstance(attribute.value, str):
            return attribute.value
    return None


def _describe_lenient(der: bytes, schemes: tuple[str, ...], digest: str) -> Certificate:
    cert = asn1_x509.Certificate.load(der, strict=True)
    tbs = cert["tbs_certificate"]
    subject = tbs["subject"]
    validity = tbs["validity"]
    serial = tbs["serial_number"].native
    if not isinstance(serial, int):
        raise ValueError("serial number is not an integer")
    return Certificate(
        schemes=schemes,
        subject=_rfc4514(subject),
        issuer=_rfc4514(tbs["issuer"]),
        organisation=_name_text(subject, "2.5.4.10"),
        country=_name_text(subject, "2.5.4.6"),
        serial=_hex(serial),
        not_before=_iso(validity["not_before"].native),
        not_after=_iso(validity["not_after"].native),
        sha256=digest,
    )


# Short names RFC 4514 section 3 defines; others are written as a dotted OID, as the RFC says.
_RFC4514_NAMES: dict[str, str] = {
    "2.5.4.3": "CN",
    "2.5.4.7": "L",
    "2.5.4.8": "ST",
    "2.5.4.10": "O",
    "2.5.4.11": "OU",
    "2.5.4.6": "C",
    "2.5.4.9": "STREET",
    "0.9.2342.19200300.100.1.25": "DC",
    "0.9.2342.19200300.100.1.1": "UID",
}


def _rfc4514(name: asn1_x509.Name) -> str:
    """RFC 4514 form of an asn1crypto name: RDNs last to first, ``+`` inside a multi-valued RDN."""
    rdns = []
    for rdn in reversed(list(name.chosen)):
        parts = []
        for attribute in rdn:
            oid = attribute["type"].dotted
            value = attribute["value"]
            native = value.native
            # Section 2.4: a value that is not a string is written as '#' and its hex DER.
            text = _escape_rfc4514(native) if isinstance(native, str) else "#" + value.dump().hex()
            parts.append(f"{_RFC4514_NAMES.get(oid, oid)}={text}")
        rdns.append("+".join(parts))
    return ",".join(rdns)


def _escape_rfc4514(value: str) -> str:
    """Escape a string value as RFC 4514 section 2.4 requires."""
    out = []
    for i, char in enumerate(value):
        if char in '"+,;<>\\' or (char == "#" and i == 0) or (char == " " and i in (0, len(value) - 1)):
            out.append("\\" + char)
        elif char == "\0":
            out.append("\\00")
        else:
            out.append(char)
    return "".join(out)


def _name_text(name: asn1_x509.Name, oid: str) -> str | None:
    for rdn in name.chosen:
        for attribute in rdn:
            if attribute["type"].dotted == oid and isinstance(attribute["value"].native, str):
                return str(attribute["value"].native)
    return None


def _hex(serial: int) -> str:
    return format(serial, "x")


def _iso(moment: object) -> str:
    if not isinstance(moment, datetime):
        raise ValueError(f"validity time {moment!r} is not a date")
    if moment.tzinfo is not None:
        moment = moment.astimezone(UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return text[0][:200] if text else type(exc).__name__


# ------------------------------------------------------------------------------------ union


def signer_certificates(
    v1_entries: Mapping[str, bytes],
    apk: bytes | memoryview | None,
    central_directory_offset: int | None,
) -> list[Certificate]:
    """Every signer certificate of the APK, one ``Certificate`` per distinct DER with all its schemes.

    ``v1_entries`` are the ``META-INF/*.RSA|*.DSA|*.EC`` entries; ``apk`` and the central directory
    offset locate the APK Signing Block (pass ``None`` to skip it). The result is sorted by the
    first scheme carrying each certificate, then by SHA-256, so the same APK always gives the same
    list. No signature is verified. Raises ``FormatError`` when any signature structure is malformed.
    """
    found = [(der, "v1") for der, _name in read_v1_certificates(v1_entries)]
    if apk is not None and central_directory_offset is not None:
        found += read_block_certificates(find_signing_block(apk, central_directory_offset))
    schemes_by_der: dict[bytes, set[str]] = {}
    for der, scheme in found:
        schemes_by_der.setdefault(der, set()).add(scheme)
    described = [
        describe_certificate(der, tuple(sorted(schemes, key=SCHEME_ORDER.__getitem__)))
        for der, schemes in schemes_by_der.items()
    ]
    return sorted(described, key=lambda cert: (SCHEME_ORDER[cert.schemes[0]], cert.sha256))

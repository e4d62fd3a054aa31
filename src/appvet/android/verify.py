"""Which signers Android would accept: the signatures of an APK verified the way the platform does.

``signing`` reads who *claims* to have signed; this module checks each claim and keeps only the
signers whose signature holds, in the order Android gives the schemes: v3.1, then v3, then v2,
then v1 (JAR signing). What is checked follows the scheme descriptions on source.android.com
("APK Signature Scheme v2", "v3", "v3.1") and the JAR file specification:

* **v2 / v3 / v3.1**: the content digests of the APK (1 MiB chunks of the zip entries, the central
  directory and the end-of-central-directory record with its offset pointing at the signing
  block, each chunk hashed under a ``0xa5`` prefix and the chunk hashes under ``0x5a``) must equal
  the digests in the signer's *signed data*; the signature over the signed data must verify with
  the signer's public key, which must be the first certificate's; the algorithm lists of the
  digests and the signatures must agree; v3 signers carry an SDK range that must agree between
  the signer and its signed data. A v2 signer that says a v3 signature was made (the stripping
  protection attribute ``0xbeeff00d``) while no v3 block is present has been stripped.
* **v1**: for every ``META-INF/<name>.SF`` with a signature block ``<name>.RSA|.DSA|.EC``, the
  PKCS#7 signature over the ``.SF`` must verify; the ``.SF`` must match ``MANIFEST.MF`` (as a
  whole or section by section); every entry outside ``META-INF/`` must be listed in both, with
  a digest equal to that of its bytes. A signature block with no ``.SF`` is ignored by Android
  (``StrictJarVerifier`` skips it) and is reported here as a stray file. An ``.SF`` saying
  ``X-Android-APK-Signed: 2`` (or ``3``) while that block is absent means the newer signature was
  stripped.

When a scheme is present Android relies on it and refuses the APK if it fails; it does not fall
back to an older scheme. Which schemes apply depends on the platform version: v1 matters only
below API 24 (or when no newer scheme is present), v2 below API 28 (or without v3).

Verity content digests (algorithm ids ``0x0421``, ``0x0423``, ``0x0425``) are not computed: a
signer that carries only those is reported as not verifiable here, never as verified.
"""

from __future__ import annotations

import base64
import hashlib
import re
import struct
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field

from asn1crypto import cms
from asn1crypto import keys as asn1_keys
from asn1crypto import x509 as asn1_x509
from cryptography.exceptions import InvalidSignature, UnsupportedAlgorithm
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import dsa, ec, padding, rsa

from appvet.android.signing import (
    SCHEME_BY_BLOCK_ID,
    SCHEME_ORDER,
    V3_BLOCK_ID,
    _Prefixed,
    describe_certificate,
    find_signing_block,
)
from appvet.errors import FormatError, InputError
from appvet.ingest import zipread
from appvet.model import Certificate

CHUNK_SIZE = 1024 * 1024
V2_STRIPPING_PROTECTION_ATTR = 0xBEEFF00D
V3_SCHEME_ID = 3
ANDROID_N = 24
ANDROID_P = 28
MAX_V1_BYTES = 1024**3
"""v1 verification hashes every entry; past this much uncompressed data it stops and says so."""

DEBUG_SUBJECT = "CN=Android Debug,O=Android,C=US"
"""Subject of the key the Android SDK generates for debug builds; its private key is public."""

# (hash, signature kind, content digest) per signature algorithm id of the v2/v3 schemes.
_ALGORITHMS: dict[int, tuple[str, str, str]] = {
    0x0101: ("sha256", "pss", "sha256"),
    0x0102: ("sha512", "pss", "sha512"),
    0x0103: ("sha256", "pkcs1", "sha256"),
    0x0104: ("sha512", "pkcs1", "sha512"),
    0x0201: ("sha256", "ecdsa", "sha256"),
    0x0202: ("sha512", "ecdsa", "sha512"),
    0x0301: ("sha256", "dsa", "sha256"),
    0x0421: ("sha256", "pkcs1", "verity"),
    0x0423: ("sha256", "ecdsa", "verity"),
    0x0425: ("sha256", "dsa", "verity"),
}
# Android verifies the strongest signature a signer offers: SHA-512 content digests first.
_PREFERENCE = {"sha512": 0, "sha256": 1, "verity": 2}

_U32 = struct.Struct("<I")
_V1_BLOCK = re.compile(r"^META-INF/([^/]+)\.(RSA|DSA|EC)$", re.IGNORECASE)
_V1_SF = re.compile(r"^META-INF/([^/]+)\.SF$", re.IGNORECASE)
_MANIFEST = "META-INF/MANIFEST.MF"
# Android's StrictJarVerifier tries these, strongest first, and uses the first one present.
_JAR_DIGESTS = (("SHA-512", "sha512"), ("SHA-384", "sha384"), ("SHA-256", "sha256"), ("SHA1", "sha1"),
                ("SHA", "sha1"))
_ASN1_ERRORS = (ValueError, TypeError, KeyError, IndexError, OverflowError, AttributeError, RecursionError)


@dataclass(frozen=True)
class SignatureProblem:
    """A signature file or signer that Android ignores or refuses."""

    kind: str
    """``stray-signature-file``: a signature block Android ignores (no ``.SF``);
    ``invalid-signature``: a signer whose digests or signature fail (Android refuses the APK);
    ``stripped-scheme``: a newer signature was removed; ``unverifiable``: a signer this reader
    cannot check; ``signer-mismatch``: schemes that apply to the same platform versions name
    different signers; ``debug-key``: signed with the public Android debug key."""
    scheme: str
    file: str
    """The archive entry (``META-INF/CERT.RSA``) or ``APK Signing Block``."""
    detail: str
    certificate: Certificate | None = None
    refused: bool = False
    """True when Android would refuse to install the APK because of it."""


@dataclass
class Signing:
    """The outcome of verifying an APK's signatures."""

    signers: list[Certificate] = field(default_factory=list)
    """Verified signers, most preferred scheme first; each lists the schemes it verified under."""
    verified_schemes: tuple[str, ...] = ()
    """Schemes whose every signer verified, most preferred first."""
    problems: list[SignatureProblem] = field(default_factory=list)
    unreadable: list[str] = field(default_factory=list)
    """Signature structures that could not be parsed (Android treats such a block as absent)."""


@dataclass
class _Signer:
    scheme: str
    der: bytes | None
    ok: bool
    detail: str = ""
    min_sdk: int = 0
    max_sdk: int = 0x7FFFFFFF
    v3_stripping_protected: bool = False


# ------------------------------------------------------------------------------ entry point


def verify_apk(
    data: bytes | memoryview,
    central_directory_offset: int,
    entries: Iterable[str],
    read: Callable[[str], bytes],
    min_sdk: int | None,
    file: str = "",
) -> Signing:
    """Verify every signature scheme present and decide which signers Android would accept.

    ``entries`` are the archive's entry names and ``read`` returns an entry's uncompressed bytes.
    ``min_sdk`` is the app's minimum API level (``None``: unknown, taken as 1). Raises nothing for
    bad signatures (they become problems); ``FormatError`` only comes from ``read``.
    """
    view = memoryview(data).cast("B")
    names = list(entries)
    result = Signing()
    try:
        block = find_signing_block(view, central_directory_offset)
        block_error = ""
        if block and not _directory_meets_end_record(view, central_directory_offset):
            # Android's lookup reports "no signature" when anything sits between the two.
            block_error = "the central directory is not immediately followed by the end-of-central-directory record"
    except FormatError as exc:
        block, block_error = {}, exc.message
    block_signers: list[_Signer] = []
    if block_error:
        # Android's lookup reports a malformed block as "no signature found" and goes on to v1.
        result.unreadable.append(f"APK Signing Block ignored, as Android ignores it: {block_error}")
    elif block:
        sections = _Sections(view, central_directory_offset)
        for block_id, scheme in SCHEME_BY_BLOCK_ID.items():
            if block_id in block:
                block_signers += _verify_scheme_block(block[block_id], scheme, sections)
    v1_signers, v1_problems, v1_claims = _verify_v1(names, read)
    result.problems += v1_problems
    present = {s.scheme for s in block_signers}
    if V3_BLOCK_ID not in block and any(s.v3_stripping_protected for s in block_signers if s.scheme == "v2"):
        result.problems.append(SignatureProblem(
            "stripped-scheme", "v3", "APK Signing Block",
            "the v2 signature says the APK was also signed with scheme v3, but no v3 signature is present: it was "
            "removed, and Android 9 and later refuse the APK", refused=True))
    # Only a device that falls back to v1 reads the claim, i.e. when no v2/v3 block was found.
    for claimed in sorted(v1_claims):
        if claimed not in present and not present:
            result.problems.append(SignatureProblem(
                "stripped-scheme", claimed, _MANIFEST.replace("MANIFEST.MF", "*.SF"),
                f"the v1 signature file says the APK was signed with scheme {claimed} (X-Android-APK-Signed), but "
                f"no {claimed} signature is present: it was removed, and Android refuses the APK", refused=True))

    floor = min_sdk or 1
    # The schemes a device of some supported API level relies on (v3.1 and v3 always; v2 below 28
    # when a v3 block exists; v1 below 24 when a newer block exists).
    applies = {s for s in present}
    if "v3" in present and floor >= ANDROID_P:
        applies.discard("v2")
    if v1_signers and (not present or floor < ANDROID_N):
        applies.add("v1")
    all_signers = block_signers + v1_signers
    for s in all_signers:
        if s.ok or s.der is None:
            continue
        cert = _describe(s.der, s.scheme)
        result.problems.append(SignatureProblem(
            "unverifiable" if s.detail.startswith("cannot verify") else "invalid-signature", s.scheme,
            "APK Signing Block" if s.scheme != "v1" else s.detail.partition(": ")[0],
            s.detail, cert, refused=s.scheme in applies and not s.detail.startswith("cannot verify")))
    for s in all_signers:
        if not s.ok and s.der is None:
            result.problems.append(SignatureProblem(
                "invalid-signature", s.scheme, "APK Signing Block" if s.scheme != "v1" else "META-INF",
                s.detail, None, refused=s.scheme in applies))

    verified: dict[bytes, set[str]] = {}
    schemes_ok: list[str] = []
    for scheme in sorted(applies, key=SCHEME_ORDER.__getitem__, reverse=True):
        ours = [s for s in all_signers if s.scheme == scheme]
        if ours and all(s.ok for s in ours):
            schemes_ok.append(scheme)
            for s in ours:
                assert s.der is not None
                verified.setdefault(s.der, set()).add(scheme)
    # Current Android relies on the newest block present and refuses the APK when it fails; only a
    # failure of v1 alone (used below API 24) leaves the block signers standing for newer devices.
    if any(p.refused and p.scheme != "v1" for p in result.problems) or (
            not present and any(p.refused for p in result.problems)):
        verified, schemes_ok = {}, []
    result.verified_schemes = tuple(schemes_ok)
    result.signers = sorted(
        (_describe_schemes(der, schemes) for der, schemes in verified.items()),
        key=lambda c: (-SCHEME_ORDER[c.schemes[-1]], c.sha256))
    _check_consistency(result, all_signers, applies)
    for cert in result.signers:
        if cert.subject == DEBUG_SUBJECT or _is_debug(cert):
            result.problems.append(SignatureProblem(
                "debug-key", cert.schemes[-1], "APK Signing Block" if cert.schemes[-1] != "v1" else "META-INF",
                "signed with the Android debug key, whose private key ships with every Android SDK: anyone can "
                "sign an update that Android accepts as coming from the same developer", cert))
    return result


def _is_debug(cert: Certificate) -> bool:
    parts = {p.strip() for p in cert.subject.split(",")}
    return {"CN=Android Debug", "O=Android", "C=US"} <= parts


def _check_consistency(result: Signing, signers: list[_Signer], applies: set[str]) -> None:
    """v1 and v2 both apply below API 24 (and v2 and v3 below 28): apksigner requires one signer set."""
    by_scheme = {scheme: {s.der for s in signers if s.scheme == scheme and s.ok} for scheme in applies}
    for older, newer in (("v1", "v2"), ("v2", "v3")):
        if older in applies and newer in applies and by_scheme[older] and by_scheme[newer] \
                and by_scheme[older] != by_scheme[newer]:
            result.problems.append(SignatureProblem(
                "signer-mismatch", f"{older}/{newer}", "APK Signing Block",
                f"the {older} and {newer} signatures name different signers; devices old enough to use {older} see "
                f"another developer than newer ones"))


def _describe(der: bytes, scheme: str) -> Certificate | None:
    try:
        return describe_certificate(der, (scheme,))
    except InputError:
        return None


def _describe_schemes(der: bytes, schemes: set[str]) -> Certificate:
    return describe_certificate(der, tuple(sorted(schemes, key=SCHEME_ORDER.__getitem__)))


# ------------------------------------------------------------------------- v2, v3 and v3.1


class _Sections:
    """The three zip sections a content digest covers, and the digests already computed."""

    def __init__(self, view: memoryview, cd_offset: int) -> None:
        eocd = _find_eocd(view, cd_offset)
        (size,) = struct.unpack_from("<Q", view, cd_offset - 24)
        block_start = cd_offset - size - 8
        record = bytearray(view[eocd:])
        # The signature covers the record as if the central directory started where the block does.
        struct.pack_into("<I", record, 16, block_start)
        self.parts = (view[:block_start], view[cd_offset:eocd], memoryview(bytes(record)))
        self._cache: dict[str, bytes] = {}

    def digest(self, kind: str) -> bytes:
        if kind not in self._cache:
            self._cache[kind] = _chunked_digest(self.parts, kind)
        return self._cache[kind]


def _directory_meets_end_record(view: memoryview, cd_offset: int) -> bool:
    try:
        eocd = _find_eocd(view, cd_offset)
    except FormatError:
        return False
    (cd_size,) = struct.unpack_from("<I", view, eocd + 12)
    return cd_offset + cd_size == eocd


def _find_eocd(view: memoryview, cd_offset: int) -> int:
    # The zip reader's rule (the record whose comment reaches the end of the file), as apksig's.
    eocd = zipread._find_eocd(view, "APK")
    if eocd < cd_offset:
        raise FormatError("end-of-central-directory record before the central directory", file="APK")
    return eocd


def _chunked_digest(parts: Iterable[memoryview], kind: str) -> bytes:
    chunk_digests = []
    for part in parts:
        for start in range(0, len(part), CHUNK_SIZE):
            chunk = part[start : start + CHUNK_SIZE]
            h = hashlib.new(kind)
            h.update(b"\xa5" + _U32.pack(len(chunk)))
            h.update(chunk)
            chunk_digests.append(h.digest())
    top = hashlib.new(kind)
    top.update(b"\x5a" + _U32.pack(len(chunk_digests)))
    for d in chunk_digests:
        top.update(d)
    return top.digest()


def _verify_scheme_block(value: bytes, scheme: str, sections: _Sections) -> list[_Signer]:
    label = f"APK Signature Scheme {scheme} block"
    try:
        outer = _Prefixed(memoryview(value), label, "signer sequence")
        sequence = outer.take()
        outer.expect_end()
        raw_signers = list(_Prefixed(sequence, label, "signer").each())
    except FormatError as exc:
        return [_Signer(scheme, None, False, f"malformed {label}: {exc.message}")]
    if not raw_signers:
        return [_Signer(scheme, None, False, f"{label} has no signer")]
    out = []
    for index, raw in enumerate(raw_signers, 1):
        try:
            out.append(_verify_block_signer(raw, scheme, sections, label))
        except FormatError as exc:
            out.append(_Signer(scheme, None, False, f"signer {index} of the {label} is malformed: {exc.message}"))
    return out


def _verify_block_signer(raw: memoryview, scheme: str, sections: _Sections, label: str) -> _Signer:
    fields = _Prefixed(raw, label, "signer")
    signed_data = fields.take()
    min_sdk = max_sdk = None
    if scheme != "v2":
        min_sdk, max_sdk = _u32_pair(fields, label)
    signatures = [(_U32.unpack_from(r)[0], _inner(r, label, "signature")) for r in _records(fields.take(), label,
                                                                                      "signature")]
    public_key = bytes(fields.take())

    sd = _Prefixed(signed_data, label, "signed data")
    digests = {_U32.unpack_from(r)[0]: _inner(r, label, "digest") for r in _records(sd.take(), label, "digest")}
    certificates = [bytes(c) for c in _Prefixed(sd.take(), label, "certificate").each()]
    sd_min = sd_max = None
    if scheme != "v2":
        sd_min, sd_max = _u32_pair(sd, label)
    attributes = _attributes(sd.take(), label) if sd.remaining() >= 4 else {}
    if not certificates:
        return _Signer(scheme, None, False, f"a {scheme} signer lists no certificate")
    der = certificates[0]
    signer = _Signer(scheme, der, False)
    if min_sdk is not None and max_sdk is not None:
        signer.min_sdk, signer.max_sdk = min_sdk, max_sdk
        if (sd_min, sd_max) != (min_sdk, max_sdk):
            signer.detail = f"{scheme} signer's SDK range differs between the signer and its signed data"
            return signer
    protected = attributes.get(V2_STRIPPING_PROTECTION_ATTR)
    signer.v3_stripping_protected = protected is not None and len(protected) >= 4 and \
        _U32.unpack_from(protected)[0] == V3_SCHEME_ID
    sig_algs = [alg for alg, _ in signatures]
    if not signatures:
        signer.detail = f"{scheme} signer has no signature"
        return signer
    if sorted(sig_algs) != sorted(digests):
        signer.detail = f"{scheme} signer's signature and digest algorithm lists differ"
        return signer
    known = [(alg, sig) for alg, sig in signatures if alg in _ALGORITHMS]
    if not known:
        signer.detail = f"cannot verify: {scheme} signer uses only unknown algorithms {sig_algs}"
        return signer
    alg, sig = min(known, key=lambda a: _PREFERENCE[_ALGORITHMS[a[0]][2]])
    hash_name, kind, content = _ALGORITHMS[alg]
    if not _same_public_key(der, public_key):
        signer.detail = f"{scheme} signer's public key is not its certificate's"
        return signer
    problem = _check_signature(public_key, kind, hash_name, sig, bytes(signed_data))
    if problem:
        signer.detail = f"{scheme} signature over the signed data does not verify ({problem})"
        return signer
    if content == "verity":
        signer.detail = f"cannot verify: {scheme} signer offers only verity digests"
        return signer
    if sections.digest(content) != digests[alg]:
        signer.detail = (f"{scheme} content digest ({content}, algorithm 0x{alg:04x}) does not match the APK: its "
                         "contents changed after signing")
        return signer
    signer.ok = True
    return signer


def _inner(record: memoryview, label: str, what: str) -> bytes:
    """The length-prefixed value after a record's uint32 algorithm id."""
    return bytes(_Prefixed(record[4:], label, what).take())


def _records(buf: memoryview, label: str, what: str) -> list[memoryview]:
    out = []
    for rec in _Prefixed(buf, label, what).each():
        if len(rec) < 8:
            raise FormatError(f"{what} record shorter than 8 bytes", file=label)
        out.append(rec)
    return out


def _u32_pair(fields: _Prefixed, label: str) -> tuple[int, int]:
    return fields.u32(), fields.u32()


def _attributes(buf: memoryview, label: str) -> dict[int, bytes]:
    out: dict[int, bytes] = {}
    for rec in _Prefixed(buf, label, "attribute").each():
        if len(rec) < 4:
            raise FormatError("attribute shorter than its id", file=label)
        out.setdefault(_U32.unpack_from(rec)[0], bytes(rec[4:]))
    return out


def _same_public_key(der: bytes, spki: bytes) -> bool:
    try:
        cert_key = asn1_x509.Certificate.load(der)["tbs_certificate"]["subject_public_key_info"].dump()
        return asn1_keys.PublicKeyInfo.load(spki).dump() == cert_key
    except _ASN1_ERRORS:
        return False


def _hash(name: str) -> hashes.HashAlgorithm:
    return {"sha1": hashes.SHA1(), "sha224": hashes.SHA224(), "sha256": hashes.SHA256(),
            "sha384": hashes.SHA384(), "sha512": hashes.SHA512(), "md5": hashes.MD5()}[name]


def _check_signature(spki: bytes, kind: str, hash_name: str, signature: bytes, data: bytes,
                     pss_salt: int | None = None) -> str:
    """Empty when ``signature`` over ``data`` verifies, else what failed."""
    try:
        key = serialization.load_der_public_key(spki)
        algorithm = _hash(hash_name)
        if kind in ("pkcs1", "pss"):
            if not isinstance(key, rsa.RSAPublicKey):
                return "the key is not an RSA key"
            pad: padding.AsymmetricPadding = padding.PKCS1v15() if kind == "pkcs1" else padding.PSS(
                mgf=padding.MGF1(algorithm), salt_length=pss_salt if pss_salt is not None else algorithm.digest_size)
            key.verify(signature, data, pad, algorithm)
        elif kind == "ecdsa":
            if not isinstance(key, ec.EllipticCurvePublicKey):
                return "the key is not an EC key"
            key.verify(signature, data, ec.ECDSA(algorithm))
        elif kind == "dsa":
            if not isinstance(key, dsa.DSAPublicKey):
                return "the key is not a DSA key"
            key.verify(signature, data, algorithm)
        else:
            return f"unknown signature kind {kind}"
    except InvalidSignature:
        return "bad signature"
    except (ValueError, TypeError, UnsupportedAlgorithm, KeyError) as exc:
        return f"unusable key or signature: {str(exc).splitlines()[0][:120] if str(exc) else type(exc).__name__}"
    return ""


# ------------------------------------------------------------------------------------ v1


@dataclass
class _Section:
    name: str | None
    attributes: dict[str, str]
    raw: bytes


def parse_jar_manifest(data: bytes) -> list[_Section]:
    """Sections of a JAR manifest or signature file, each with its raw bytes (blank line included).

    Lines end with CRLF, LF or CR; a line starting with one space continues the previous one.
    The first section is the main section (``name`` ``None``).
    """
    sections: list[_Section] = []
    pos = 0
    n = len(data)
    while pos < n:
        start = pos
        attributes: dict[str, str] = {}
        last: str | None = None
        while pos < n:
            m = re.compile(rb"\r\n|\n|\r").search(data, pos)
            line_end, next_pos = (m.start(), m.end()) if m else (n, n)
            line = data[pos:line_end]
            pos = next_pos
            if not line:
                break
            text = line.decode("utf-8", "replace")
            if text.startswith(" ") and last is not None:
                attributes[last] += text[1:]
                continue
            key, sep, value = text.partition(":")
            if not sep:
                continue
            last = key.strip()
            attributes.setdefault(last, value[1:] if value.startswith(" ") else value)
        if not attributes and sections:
            continue
        name = attributes.get("Name") if sections else None
        sections.append(_Section(name, attributes, data[start:pos]))
    return sections


def _jar_digest(attributes: Mapping[str, str], suffix: str) -> tuple[str, bytes] | None:
    for label, algo in _JAR_DIGESTS:
        value = attributes.get(f"{label}{suffix}")
        if value is not None:
            try:
                return algo, base64.b64decode(value.strip(), validate=True)
            except ValueError:
                return algo, b""
    return None


def _verify_v1(names: list[str], read: Callable[[str], bytes]) -> tuple[list[_Signer], list[SignatureProblem],
                                                                          set[str]]:
    sf_names = {m.group(1).upper(): n for n in names if (m := _V1_SF.match(n))}
    blocks = {n: m.group(1).upper() for n in names if (m := _V1_BLOCK.match(n))}
    signers: list[_Signer] = []
    problems: list[SignatureProblem] = []
    claims: set[str] = set()
    for block_name in sorted(blocks):
        base = blocks[block_name]
        if base not in sf_names:
            problems.append(_stray(block_name, read, f"{block_name} has no matching META-INF/{base}.SF; Android "
                                   "ignores it, so the certificate in it signs nothing"))
    paired = [(sf_names[base], b) for b, base in sorted(blocks.items()) if base in sf_names]
    if not paired:
        return signers, problems, claims
    manifest_bytes = read(_MANIFEST) if _MANIFEST in names else None
    manifest = parse_jar_manifest(manifest_bytes) if manifest_bytes is not None else []
    by_name = {s.name: s for s in manifest[1:] if s.name is not None}
    content_ok = _v1_entry_digests(names, read, by_name) if manifest_bytes is not None else "no META-INF/MANIFEST.MF"
    for sf_name, block_name in paired:
        sf = read(sf_name)
        sf_sections = parse_jar_manifest(sf)
        if sf_sections:
            for token in sf_sections[0].attributes.get("X-Android-APK-Signed", "").split(","):
                token = token.strip()
                if token in ("2", "3"):
                    claims.add(f"v{token}")
        der, problem = _verify_pkcs7(read(block_name), sf)
        signer = _Signer("v1", der, False)
        signers.append(signer)
        where = f"{block_name}: "
        if problem:
            signer.detail = where + problem
            continue
        if manifest_bytes is None:
            signer.detail = where + "no META-INF/MANIFEST.MF"
            continue
        sf_problem = _sf_matches_manifest(sf_sections, manifest_bytes, manifest, names)
        if sf_problem:
            signer.detail = where + f"{sf_name}: {sf_problem}"
            continue
        if content_ok:
            signer.detail = where + content_ok
            continue
        signer.ok = True
    return signers, problems, claims


def _stray(block_name: str, read: Callable[[str], bytes], detail: str) -> SignatureProblem:
    cert = None
    try:
        info = cms.ContentInfo.load(read(block_name))
        ders = [c.chosen.dump() for c in info["content"]["certificates"] if c.name == "certificate"]
        cert = _describe(ders[0], "v1") if ders else None
    except (*_ASN1_ERRORS, InputError):
        pass
    return SignatureProblem("stray-signature-file", "v1", block_name, detail, cert)


def _v1_entry_digests(names: list[str], read: Callable[[str], bytes], by_name: Mapping[str, _Section]) -> str:
    """Every entry outside META-INF/ must be in the manifest with a digest of its bytes."""
    total = 0
    for name in names:
        if name.startswith("META-INF/") or name.endswith("/"):
            continue
        section = by_name.get(name)
        if section is None:
            return f"{name} is not listed in META-INF/MANIFEST.MF"
        digest = _jar_digest(section.attributes, "-Digest")
        if digest is None:
            return f"META-INF/MANIFEST.MF lists {name} without a digest"
        data = read(name)
        total += len(data)
        if total > MAX_V1_BYTES:
            return f"cannot verify: entries exceed {MAX_V1_BYTES:,} bytes"
        if hashlib.new(digest[0], data).digest() != digest[1]:
            return f"digest of {name} does not match META-INF/MANIFEST.MF: it changed after signing"
    return ""


def _sf_matches_manifest(sf: list[_Section], manifest_bytes: bytes, manifest: list[_Section],
                         names: list[str]) -> str:
    if not sf:
        return "empty signature file"
    main = sf[0].attributes
    whole = _jar_digest(main, "-Digest-Manifest")
    if whole is not None and hashlib.new(whole[0], manifest_bytes).digest() == whole[1]:
        listed = {s.name for s in sf[1:]}
        missing = next((n for n in names if not n.startswith("META-INF/") and not n.endswith("/")
                        and n not in listed), None)
        return f"{missing} is not listed" if missing else ""
    main_attrs = _jar_digest(main, "-Digest-Manifest-Main-Attributes")
    if main_attrs is not None and manifest and hashlib.new(main_attrs[0], manifest[0].raw).digest() != main_attrs[1]:
        return "digest of the manifest's main attributes does not match"
    sections = {s.name: s for s in manifest[1:] if s.name is not None}
    listed = set()
    for entry in sf[1:]:
        if entry.name is None:
            continue
        listed.add(entry.name)
        digest = _jar_digest(entry.attributes, "-Digest")
        target = sections.get(entry.name)
        if digest is None or target is None or hashlib.new(digest[0], target.raw).digest() != digest[1]:
            return f"section for {entry.name} does not match META-INF/MANIFEST.MF"
    missing = next((n for n in names if not n.startswith("META-INF/") and not n.endswith("/") and n not in listed),
                   None)
    return f"{missing} is not listed" if missing else ""


_SIG_OIDS: dict[str, tuple[str, str | None]] = {
    # signature algorithm OID -> (kind, hash implied by the OID or None to use the digest algorithm)
    "1.2.840.113549.1.1.1": ("pkcs1", None),
    "1.2.840.113549.1.1.5": ("pkcs1", "sha1"),
    "1.2.840.113549.1.1.11": ("pkcs1", "sha256"),
    "1.2.840.113549.1.1.12": ("pkcs1", "sha384"),
    "1.2.840.113549.1.1.13": ("pkcs1", "sha512"),
    "1.2.840.113549.1.1.14": ("pkcs1", "sha224"),
    "1.2.840.113549.1.1.10": ("pss", None),
    "1.2.840.10045.2.1": ("ecdsa", None),
    "1.2.840.10045.4.1": ("ecdsa", "sha1"),
    "1.2.840.10045.4.3.2": ("ecdsa", "sha256"),
    "1.2.840.10045.4.3.3": ("ecdsa", "sha384"),
    "1.2.840.10045.4.3.4": ("ecdsa", "sha512"),
    "1.2.840.10040.4.1": ("dsa", None),
    "1.2.840.10040.4.3": ("dsa", "sha1"),
    "2.16.840.1.101.3.4.3.2": ("dsa", "sha256"),
}


def _verify_pkcs7(block: bytes, sf: bytes) -> tuple[bytes | None, str]:
    """``(signer certificate DER, problem)``: the problem is empty when the signature over ``sf`` holds."""
    try:
        info = cms.ContentInfo.load(block)
        if info["content_type"].native != "signed_data":
            return None, "PKCS#7 content is not signed data"
        signed = info["content"]
        certs = [c.chosen for c in signed["certificates"] if c.name == "certificate"]
        signer_infos = list(signed["signer_infos"])
        if not signer_infos:
            return None, "PKCS#7 signature has no signer"
        si = signer_infos[0]
        sid = si["sid"]
        if sid.name != "issuer_and_serial_number":
            return None, "PKCS#7 signer is not named by issuer and serial number"
        issuer = sid.chosen["issuer"]
        serial = sid.chosen["serial_number"].native
        # Names compare as X.500 names (normalised), not as bytes: encoders differ in string types.
        cert = next((c for c in certs if c["tbs_certificate"]["serial_number"].native == serial
                     and c["tbs_certificate"]["issuer"].hashable == issuer.hashable), None)
        if cert is None:
            return None, "PKCS#7 signer's certificate is not in the signature block"
        der = cert.dump()
        digest_name = si["digest_algorithm"]["algorithm"].native
        oid = si["signature_algorithm"]["algorithm"].dotted
        kind, implied = _SIG_OIDS.get(oid, ("", None))
        if not kind:
            return der, f"cannot verify: signature algorithm {oid} is not supported"
        hash_name = implied or digest_name
        candidates = [sf]
        attrs = si["signed_attrs"]
        if attrs.native is not None and len(attrs):
            wanted = next((a["values"][0].native for a in attrs if a["type"].native == "message_digest"), None)
            if wanted is None or hashlib.new(digest_name, sf).digest() != wanted:
                return der, "PKCS#7 message digest does not match the .SF file"
            tagged = attrs.dump()
            # CMS signs the attributes as a SET; some signers signed them with their [0] tag, which
            # Android's verifier also accepts.
            candidates = [b"\x31" + tagged[1:], tagged]
        salt = None
        if kind == "pss":
            params = si["signature_algorithm"]["parameters"]
            hash_name = params["hash_algorithm"]["algorithm"].native
            salt = params["salt_length"].native
        spki = cert["tbs_certificate"]["subject_public_key_info"].dump()
        signature = si["signature"].native
    except _ASN1_ERRORS as exc:
        return None, f"malformed PKCS#7 signature: {str(exc).splitlines()[0][:120] if str(exc) else exc!r}"
    if hash_name not in ("sha1", "sha224", "sha256", "sha384", "sha512", "md5"):
        return der, f"cannot verify: digest algorithm {hash_name} is not supported"
    problem = ""
    for data in candidates:
        problem = _check_signature(spki, kind, hash_name, signature, data, salt)
        if not problem:
            return der, ""
    return der, f"PKCS#7 signature over the .SF file does not verify ({problem})"

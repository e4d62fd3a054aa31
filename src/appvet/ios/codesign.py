"""Code signatures of iOS binaries and the provisioning profile of the app.

The signature is the ``LC_CODE_SIGNATURE`` blob: a big-endian SuperBlob whose slots hold the
CodeDirectory (bundle identifier, team id), the entitlements (XML and DER) and a CMS SignedData
with the signer certificates. ``embedded.mobileprovision`` is a CMS SignedData whose content is a
property list (team, entitlements, devices, expiry). Nothing is verified: these are claims the
app makes about itself, reported as such.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from asn1crypto import cms

from appvet.android.signing import describe_certificate
from appvet.errors import FormatError
from appvet.ios.plist import load_plist
from appvet.model import Certificate

SUPERBLOB = 0xFADE0CC0
CODEDIRECTORY = 0xFADE0C02
ENTITLEMENTS = 0xFADE7171
DER_ENTITLEMENTS = 0xFADE7172
CMS_BLOB = 0xFADE0B01
IOS_SCHEME = "ios-cms"

_ASN1_ERRORS = (ValueError, TypeError, KeyError, IndexError, OverflowError, AttributeError, RecursionError)


@dataclass
class CodeSignature:
    identifier: str | None = None
    team_id: str | None = None
    entitlements: dict[str, Any] = field(default_factory=dict)
    certificates: list[Certificate] = field(default_factory=list)
    """Signer certificate first, then the chain as stored."""
    notes: list[str] = field(default_factory=list)


@dataclass
class Provision:
    name: str | None
    team_ids: list[str]
    team_name: str | None
    app_id_name: str | None
    entitlements: dict[str, Any]
    expires: str | None
    created: str | None
    devices: int
    """Number of devices named (development and ad-hoc profiles); 0 for App Store and enterprise."""
    all_devices: bool
    """``ProvisionsAllDevices``: an enterprise (in-house) profile that installs on any device."""
    certificates: list[Certificate]


def read_signature(blob: bytes, file: str) -> CodeSignature:
    """Parse a code-signature SuperBlob; raise FormatError for one that is malformed."""
    try:
        return _read_signature(blob, file)
    except FormatError:
        raise
    except (struct.error, *_ASN1_ERRORS) as exc:
        raise FormatError(f"malformed code signature: {exc}", file=file) from None


def _read_signature(blob: bytes, file: str) -> CodeSignature:
    if len(blob) < 12:
        raise FormatError("code signature shorter than its header", file=file)
    magic, length, count = struct.unpack_from(">III", blob, 0)
    if magic != SUPERBLOB:
        raise FormatError(f"code signature has magic {magic:#x}, expected an embedded-signature SuperBlob", file=file)
    if length > len(blob) or 12 + count * 8 > len(blob):
        raise FormatError("code signature SuperBlob is truncated", file=file)
    sig = CodeSignature()
    for i in range(count):
        _slot, off = struct.unpack_from(">II", blob, 12 + i * 8)
        if off + 8 > len(blob):
            sig.notes.append(f"slot {i} lies outside the signature")
            continue
        bmagic, blen = struct.unpack_from(">II", blob, off)
        body = blob[off : off + blen]
        if blen < 8 or off + blen > len(blob):
            sig.notes.append(f"blob {bmagic:#x} is truncated")
            continue
        if bmagic == CODEDIRECTORY and sig.identifier is None:
            _code_directory(body, sig)
        elif bmagic == ENTITLEMENTS:
            try:
                sig.entitlements = load_plist(body[8:], f"{file} (entitlements)")
            except FormatError as exc:
                sig.notes.append(exc.message)
        elif bmagic == CMS_BLOB and len(body) > 8:
            try:
                sig.certificates = _cms_certificates(body[8:])
            except (FormatError, *_ASN1_ERRORS) as exc:
                sig.notes.append(f"signature CMS not readable: {exc}")
    return sig


def _code_directory(body: bytes, sig: CodeSignature) -> None:
    if len(body) < 44:
        sig.notes.append("CodeDirectory shorter than its header")
        return
    version = struct.unpack_from(">I", body, 8)[0]
    ident_off = struct.unpack_from(">I", body, 20)[0]
    sig.identifier = _cstr(body, ident_off)
    if version >= 0x20200 and len(body) >= 52:
        team_off = struct.unpack_from(">I", body, 48)[0]
        if team_off:
            sig.team_id = _cstr(body, team_off)


def _cstr(body: bytes, off: int) -> str | None:
    if not 0 < off < len(body):
        return None
    end = body.find(b"\0", off)
    return body[off : end if end >= 0 else len(body)].decode("utf-8", "replace")


def _signed_data(der: bytes) -> Any:
    info = cms.ContentInfo.load(der)
    if info["content_type"].native != "signed_data":
        raise FormatError(f"CMS content is {info['content_type'].native}, not signed data")
    return info["content"]


def _cms_certificates(der: bytes) -> list[Certificate]:
    """Signer certificate first (the one the signer info names), then the others as stored."""
    signed = _signed_data(der)
    certs = [c.chosen for c in signed["certificates"] or [] if c.name == "certificate"]
    serials = set()
    for info in signed["signer_infos"] or []:
        sid = info["sid"]
        if sid.name == "issuer_and_serial_number":
            serials.add(sid.chosen["serial_number"].native)
    ordered = sorted(certs, key=lambda c: c.serial_number not in serials)
    return [describe_certificate(c.dump(), (IOS_SCHEME,)) for c in ordered]


def read_provision(data: bytes, file: str) -> Provision:
    """Parse ``embedded.mobileprovision``; raise FormatError for one that is not a signed property list."""
    try:
        signed = _signed_data(data)
        content = signed["encap_content_info"]["content"].native
    except FormatError as exc:
        raise FormatError(exc.message, file=file) from None
    except _ASN1_ERRORS as exc:
        raise FormatError(f"not a CMS signed provisioning profile: {exc}", file=file) from None
    if not isinstance(content, bytes):
        raise FormatError("provisioning profile has no property list inside", file=file)
    p = load_plist(content, file)
    certs = []
    for der in p.get("DeveloperCertificates", []) if isinstance(p.get("DeveloperCertificates"), list) else []:
        if isinstance(der, bytes):
            try:
                certs.append(describe_certificate(der, ("mobileprovision",)))
            except FormatError:
                continue
    devices = p.get("ProvisionedDevices")
    return Provision(
        name=_s(p.get("Name")),
        team_ids=[t for t in p.get("TeamIdentifier", []) if isinstance(t, str)]
        if isinstance(p.get("TeamIdentifier"), list) else [],
        team_name=_s(p.get("TeamName")),
        app_id_name=_s(p.get("AppIDName")),
        entitlements=p["Entitlements"] if isinstance(p.get("Entitlements"), dict) else {},
        expires=_date(p.get("ExpirationDate")),
        created=_date(p.get("CreationDate")),
        devices=len(devices) if isinstance(devices, list) else 0,
        all_devices=p.get("ProvisionsAllDevices") is True,
        certificates=certs,
    )


def _s(v: Any) -> str | None:
    return v if isinstance(v, str) else None


def _date(v: Any) -> str | None:
    return v.strftime("%Y-%m-%dT%H:%M:%SZ") if isinstance(v, datetime) else None

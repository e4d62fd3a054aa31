"""A device profile: the values a test phone really holds, and every form an SDK may send them in.

The profile is a flat YAML mapping (all keys optional)::

    phone_number: "+86 138 0013 8000"
    imei: "490154203237518"
    imsi: "460001234567890"
    iccid: "89860012345678901234"
    android_id: "9774d56d682e549c"
    advertising_id: "38400000-8cf0-11bd-b23e-10b96e40000d"
    wifi_mac: "02:1a:11:f0:c3:9e"
    wifi_ssid: "HomeNet-5G"
    location: {lat: 39.908722, lon: 116.397499}
    email: "li.lei@example.net"
    contacts: [{name: "Han Meimei", phone: "+86 139 0000 1111"}]
    packages: [com.tencent.mm, com.eg.android.AlipayGphone]
    clipboard: "the quick brown fox"

Each value becomes needles: the value, its normalisations (case, separators, E.164 and national
phone forms) and the md5 / sha1 / sha256 hex digests of each of those.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import phonenumbers

from appvet.errors import FormatError

CATEGORY = {
    "phone_number": "phone_number",
    "imei": "device_identifiers",
    "android_id": "device_identifiers",
    "advertising_id": "device_identifiers",
    "imsi": "sim_identifiers",
    "iccid": "sim_identifiers",
    "wifi_mac": "wifi_network",
    "wifi_ssid": "wifi_network",
    "email": "accounts",
    "contact_name": "contacts_social_graph",
    "contact_phone": "contacts_social_graph",
    "package": "installed_apps",
    "clipboard": "clipboard",
}
_SCALARS = (
    "phone_number",
    "imei",
    "imsi",
    "iccid",
    "android_id",
    "advertising_id",
    "wifi_mac",
    "wifi_ssid",
    "email",
    "clipboard",
)
_KEYS = frozenset((*_SCALARS, "location", "contacts", "packages"))
DIGESTS = ("md5", "sha1", "sha256")
MIN_NEEDLE = 4
"""Shorter values would match by chance; they are refused when the profile is loaded."""


@dataclass(frozen=True)
class Needle:
    text: str
    """What to look for (compared case-insensitively)."""
    kind: str
    category: str
    transform: tuple[str, ...]
    """How ``text`` derives from the profile value: ``()``, ``("e164",)``, ``("lower", "sha256")`` ..."""
    value_id: str


@dataclass(frozen=True)
class Profile:
    needles: tuple[Needle, ...]
    location: tuple[float, float] | None
    region: str | None
    """ISO country of the profile's phone number, used to read national-format numbers in traffic."""


def value_id(value: str) -> str:
    return hashlib.sha256(value.encode("utf-8")).hexdigest()[:12]


def _phone_forms(raw: str, region: str | None) -> tuple[list[tuple[str, tuple[str, ...]]], str | None]:
    try:
        num = phonenumbers.parse(raw, region)
    except phonenumbers.NumberParseException:
        digits = re.sub(r"\D", "", raw)
        return [(raw, ()), (digits, ("digits",))], None
    e164 = phonenumbers.format_number(num, phonenumbers.PhoneNumberFormat.E164)
    national = str(num.national_number)
    forms = [
        (raw, ()),
        (e164, ("e164",)),
        (e164[1:], ("e164-digits",)),
        (national, ("national",)),
        ("0" + national, ("national-trunk",)),
        (phonenumbers.format_number(num, phonenumbers.PhoneNumberFormat.INTERNATIONAL), ("international",)),
        (phonenumbers.format_number(num, phonenumbers.PhoneNumberFormat.NATIONAL), ("national-format",)),
    ]
    return forms, phonenumbers.region_code_for_number(num)


def _forms(kind: str, raw: str) -> list[tuple[str, tuple[str, ...]]]:
    forms: list[tuple[str, tuple[str, ...]]] = [(raw, ())]
    if kind in ("wifi_mac", "android_id", "advertising_id", "imei", "imsi", "iccid", "email"):
        forms += [(raw.lower(), ("lower",)), (raw.upper(), ("upper",))]
    if kind in ("wifi_mac", "advertising_id"):
        bare = re.sub(r"[:\-]", "", raw)
        forms += [(bare.lower(), ("no-separators", "lower")), (bare.upper(), ("no-separators", "upper"))]
        if kind == "wifi_mac":
            dashed = raw.replace(":", "-")
            forms += [(dashed.lower(), ("dashes", "lower")), (dashed.upper(), ("dashes", "upper"))]
    return forms


def _needles(kind: str, forms: list[tuple[str, tuple[str, ...]]], canonical: str) -> list[Needle]:
    category = CATEGORY[kind]
    vid = value_id(canonical)
    seen: dict[str, Needle] = {}
    for text, transform in forms:
        if len(text) < MIN_NEEDLE:
            continue
        seen.setdefault(text, Needle(text, kind, category, transform, vid))
        for algo in DIGESTS:
            digest = hashlib.new(algo, text.encode("utf-8")).hexdigest()
            seen.setdefault(digest, Needle(digest, kind, category, (*transform, algo), vid))
    return list(seen.values())


def build(data: dict[str, Any], name: str = "<profile>") -> Profile:
    """Needles of a parsed profile mapping."""
    if not isinstance(data, dict):
        raise FormatError("device profile must be a mapping", file=name)
    unknown = sorted(set(map(str, data)) - _KEYS)
    if unknown:
        raise FormatError(f"unknown device profile keys: {', '.join(unknown)}", file=name)
    needles: list[Needle] = []
    region: str | None = None
    for kind in _SCALARS:
        raw = data.get(kind)
        if raw is None:
            continue
        if not isinstance(raw, (str, int)) or isinstance(raw, bool) or len(str(raw).strip()) < MIN_NEEDLE:
            raise FormatError(f"{kind} must be a string of at least {MIN_NEEDLE} characters", file=name)
        raw = str(raw).strip()
        if kind == "phone_number":
            forms, region = _phone_forms(raw, None)
            canonical = forms[1][0] if len(forms) > 2 else raw
        else:
            forms, canonical = _forms(kind, raw), raw.lower() if kind != "wifi_ssid" and kind != "clipboard" else raw
        needles += _needles(kind, forms, canonical)
    for i, contact in enumerate(data.get("contacts") or []):
        if not isinstance(contact, dict):
            raise FormatError(f"contacts[{i}] must be a mapping with name and/or phone", file=name)
        if contact.get("name"):
            cname = str(contact["name"]).strip()
            needles += _needles("contact_name", [(cname, ())], cname)
        if contact.get("phone"):
            forms, _ = _phone_forms(str(contact["phone"]), region)
            needles += _needles("contact_phone", forms, forms[1][0] if len(forms) > 2 else forms[0][0])
    packages = data.get("packages") or []
    if not isinstance(packages, list):
        raise FormatError("packages must be a list", file=name)
    for pkg in packages:
        needles += [Needle(str(pkg), "package", "installed_apps", (), value_id(str(pkg)))]
    location = None
    loc = data.get("location")
    if loc is not None:
        try:
            location = (float(loc["lat"]), float(loc["lon"]))
        except (TypeError, KeyError, ValueError):
            raise FormatError("location must be a mapping with numeric lat and lon", file=name) from None
    return Profile(tuple(needles), location, region)


MAX_PROFILE_BYTES = 1024 * 1024
MAX_PROFILE_NODES = 100_000


def load(path: str | Path) -> Profile:
    """Read a device profile with the same safe loader as policies: no aliases, bounded size and depth."""
    from appvet.safeyaml import YamlRefused
    from appvet.safeyaml import load as load_yaml

    p = Path(path)
    try:
        with p.open("rb") as f:
            raw = f.read(MAX_PROFILE_BYTES + 1)
        data = load_yaml(raw, MAX_PROFILE_BYTES, MAX_PROFILE_NODES)
    except OSError as exc:
        raise FormatError(f"cannot read device profile: {exc.strerror or exc}", file=p.name) from None
    except YamlRefused as exc:
        raise FormatError(f"device profile refused: {exc}", file=p.name) from None
    if data is not None and not isinstance(data, dict):
        raise FormatError("device profile must be a mapping", file=p.name)
    return build(data or {}, p.name)

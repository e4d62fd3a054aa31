"""Find personal data in decoded request parts: profile values, and values that merely look personal.

Profile needles are compiled once into one case-insensitive alternation (bounded by non-alphanumerics
so ``1234`` does not match inside ``912345``) plus a digest table probed with each hex token, so a
request costs one regex scan per leaf whatever the size of the profile.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator

import phonenumbers

from appvet.traffic.decode import Leaf, Pair, request_parts
from appvet.traffic.model import Hit, Request
from appvet.traffic.profile import Needle, Profile, value_id

_HEXTOKEN = re.compile(r"(?<![0-9A-Fa-f])(?:[0-9A-Fa-f]{64}|[0-9A-Fa-f]{40}|[0-9A-Fa-f]{32})(?![0-9A-Fa-f])")
_IMEI = re.compile(r"(?<!\d)\d{15}(?!\d)")
_ICCID = re.compile(r"(?<!\d)89\d{17,18}(?!\d)")
_MAC = re.compile(r"(?i)(?<![0-9a-f:-])[0-9a-f]{2}([:-])(?:[0-9a-f]{2}\1){4}[0-9a-f]{2}(?![0-9a-f:-])")
_EMAIL = re.compile(r"(?i)(?<![\w.+-])[a-z0-9][a-z0-9._%+-]{0,63}@(?:[a-z0-9-]{1,63}\.)+[a-z]{2,24}(?![\w-])")
_UUID = re.compile(r"(?i)(?<![0-9a-f-])[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}(?![0-9a-f-])")
_PHONE = re.compile(r"(?<![\w+])\+?\d[\d\- ().]{5,18}\d(?!\w)")
_COORDS = re.compile(r"(?<![\d.])(-?\d{1,2}\.\d+)\s*,\s*(-?\d{1,3}\.\d+)(?![\d.])")
_PACKAGE = re.compile(r"[a-z][a-z0-9_]*(?:\.[A-Za-z][A-Za-z0-9_]*){1,8}")
_PACKAGE_ROOTS = frozenset(
    {
        "com",
        "org",
        "net",
        "cn",
        "io",
        "tv",
        "me",
        "de",
        "jp",
        "kr",
        "ru",
        "uk",
        "co",
        "in",
        "air",
        "app",
        "ai",
        "sg",
        "fr",
        "it",
        "es",
        "br",
        "us",
        "eu",
        "info",
        "mobi",
        "ch",
        "nl",
    }
)
_SPLIT = re.compile(r"[\s,;|]+")

_PHONE_KEY = re.compile(r"(?i)phone|mobile|msisdn|(?:^|_)tel(?:$|_)|telephone|line1|(?:^|_)cell")
_ADID_KEY = re.compile(r"(?i)adid|gaid|aaid|idfa|oaid|advertis|(?:^|_)ad_?id|adv_?id")
_IMSI_KEY = re.compile(r"(?i)imsi")
_ANDROID_ID_KEY = re.compile(r"(?i)android_?id|ssaid|(?:^|_)aid$")
_SSID_KEY = re.compile(r"(?i)(?:^|_)ssid$|wifi_?name")
_LOC_KEY = re.compile(r"(?i)(?:^|_)(?:loc|location|ll|latlng|latlon|coord|coords|gps|geo)$")
_BOGUS_MACS = frozenset({"00:00:00:00:00:00", "02:00:00:00:00:00", "ff:ff:ff:ff:ff:ff"})

PRECISE_DECIMALS = 3
"""Decimal places from which a coordinate is precise (3 decimals of a degree is about 110 m)."""


def luhn(digits: str) -> bool:
    total = 0
    for i, ch in enumerate(reversed(digits)):
        d = ord(ch) - 48
        if i % 2:
            d *= 2
            if d > 9:
                d -= 9
        total += d
    return total % 10 == 0


def redact(text: str, show: bool = False) -> str:
    """First two and last two characters of a value; the whole value only when asked."""
    if show:
        return text
    if len(text) <= 6:
        return "*" * len(text)
    return f"{text[:2]}…{text[-2:]}"


class Detector:
    """Compiled matchers for one profile (or none)."""

    def __init__(self, profile: Profile | None = None, *, show_values: bool = False) -> None:
        self.profile = profile
        self.show = show_values
        self.plain: dict[str, list[Needle]] = {}
        self.digests: dict[str, list[Needle]] = {}
        for n in profile.needles if profile else ():
            table = self.digests if n.transform and n.transform[-1] in ("md5", "sha1", "sha256") else self.plain
            table.setdefault(n.text.lower(), []).append(n)
        alts = sorted(self.plain, key=len, reverse=True)
        self.regex = (
            re.compile("(?<![A-Za-z0-9])(?:" + "|".join(map(re.escape, alts)) + ")(?![A-Za-z0-9])", re.IGNORECASE)
            if alts
            else None
        )
        self.region = profile.region if profile else None
        self.last_values: list[str] = []
        """The raw text of every value found by the last ``detect`` call, to redact it wherever it appears."""

    # -- per request ---------------------------------------------------------------------------

    def detect(self, req: Request) -> tuple[Hit, ...]:
        return self.detect_parts(request_parts(req))

    def detect_parts(self, parts: Iterable[Leaf | Pair]) -> tuple[Hit, ...]:
        hits: dict[tuple[str, str, str, str], Hit] = {}
        self.last_values = []
        for part in parts:
            found = self._pair(part) if isinstance(part, Pair) else self._leaf(part)
            for hit in found:
                k = (hit.category, hit.kind, hit.location, hit.value_id)
                old = hits.get(k)
                if old is None or _rank(old) > _rank(hit):
                    hits[k] = hit
        return tuple(sorted(hits.values(), key=lambda h: (h.location, h.category, h.kind, h.value_id)))

    def _hit(
        self,
        n: Needle | None,
        category: str,
        kind: str,
        leaf_loc: tuple[str, ...],
        chain: tuple[str, ...],
        text: str,
        transform: tuple[str, ...] = (),
        vid: str | None = None,
    ) -> Hit:
        self.last_values.append(text)
        return Hit(
            category=category,
            kind=kind,
            matched="profile" if n is not None else "pattern",
            location="/".join(leaf_loc),
            encoding=(*chain, *(n.transform if n is not None else transform)),
            excerpt=redact(text, self.show),
            value_id=n.value_id if n is not None else (vid or value_id(text.lower())),
        )

    def _leaf(self, leaf: Leaf) -> Iterator[Hit]:
        text, loc, chain = leaf.text, leaf.location, leaf.chain
        profile_cats: set[str] = set()
        if self.regex is not None:
            for m in self.regex.finditer(text):
                found = m.group(0)
                candidates = self.plain.get(found.lower(), ())
                exact = {n.kind: n for n in candidates if n.text == found}
                done: set[str] = set()
                for n in candidates:
                    if n.kind in done:
                        continue
                    n = exact.get(n.kind, n)
                    done.add(n.kind)
                    profile_cats.add(n.kind)
                    yield self._hit(n, n.category, n.kind, loc, chain, found)
        if self.digests:
            for m in _HEXTOKEN.finditer(text):
                for n in self.digests.get(m.group(0).lower(), ()):
                    profile_cats.add(n.kind)
                    yield self._hit(n, n.category, n.kind, loc, chain, m.group(0))
        yield from self._patterns(leaf, profile_cats)

    def _patterns(self, leaf: Leaf, taken: set[str]) -> Iterator[Hit]:
        text, loc, chain, key = leaf.text, leaf.location, leaf.chain, leaf.key
        digits = any(c.isdigit() for c in text)
        if digits and "imei" not in taken:
            for m in _IMEI.finditer(text):
                v = m.group(0)
                if luhn(v) and len(set(v)) > 2 and not (_IMSI_KEY.search(key) or v.startswith("89")):
                    yield self._hit(None, "device_identifiers", "imei", loc, chain, v)
        if digits and "iccid" not in taken:
            for m in _ICCID.finditer(text):
                if luhn(m.group(0)):
                    yield self._hit(None, "sim_identifiers", "iccid", loc, chain, m.group(0))
        if key and "imsi" not in taken and _IMSI_KEY.search(key) and re.fullmatch(r"\d{14,15}", text.strip()):
            yield self._hit(None, "sim_identifiers", "imsi", loc, chain, text.strip())
        if "wifi_mac" not in taken and (":" in text or "-" in text):
            for m in _MAC.finditer(text):
                mac = m.group(0).lower().replace("-", ":")
                if mac not in _BOGUS_MACS:
                    yield self._hit(None, "wifi_network", "wifi_mac", loc, chain, m.group(0), vid=value_id(mac))
        if key and "wifi_ssid" not in taken and _SSID_KEY.search(key) and 0 < len(text.strip()) <= 32:
            yield self._hit(None, "wifi_network", "wifi_ssid", loc, chain, text.strip())
        if "@" in text and "email" not in taken:
            for m in _EMAIL.finditer(text):
                yield self._hit(None, "accounts", "email", loc, chain, m.group(0))
        if key and "advertising_id" not in taken and _ADID_KEY.search(key):
            for m in _UUID.finditer(text):
                if m.group(0).strip("0-"):
                    yield self._hit(None, "device_identifiers", "advertising_id", loc, chain, m.group(0))
        if (
            key
            and "android_id" not in taken
            and _ANDROID_ID_KEY.search(key)
            and re.fullmatch(r"[0-9a-fA-F]{16}", text.strip())
        ):
            yield self._hit(None, "device_identifiers", "android_id", loc, chain, text.strip())
        if digits and "phone_number" not in taken and "contact_phone" not in taken:
            yield from self._phones(leaf)
        if digits and "," in text:
            for m in _COORDS.finditer(text):
                if (key and _LOC_KEY.search(key)) or min(_decimals(m.group(1)), _decimals(m.group(2))) >= 4:
                    yield from self._coords(m.group(1), m.group(2), loc, chain)
        if "." in text and "package" not in taken and (leaf.is_list or _SPLIT.search(text)):
            items = [t for t in _SPLIT.split(text.strip()) if t]
            pkgs = [t for t in items if _PACKAGE.fullmatch(t) and t.split(".", 1)[0] in _PACKAGE_ROOTS]
            if len(pkgs) >= 3 and len(pkgs) * 2 >= len(items):
                joined = ",".join(sorted(pkgs))
                yield self._hit(None, "installed_apps", "package_list", loc, chain, joined)

    def _phones(self, leaf: Leaf) -> Iterator[Hit]:
        keyed = bool(leaf.key and _PHONE_KEY.search(leaf.key))
        if not keyed and "+" not in leaf.text:
            return
        for m in _PHONE.finditer(leaf.text):
            cand = m.group(0)
            region = None if cand.startswith("+") else self.region if keyed else None
            if region is None and not cand.startswith("+"):
                continue
            try:
                num = phonenumbers.parse(cand, region)
            except phonenumbers.NumberParseException:
                continue
            if phonenumbers.is_valid_number(num):
                e164 = phonenumbers.format_number(num, phonenumbers.PhoneNumberFormat.E164)
                yield self._hit(
                    None, "phone_number", "phone_number", leaf.location, leaf.chain, cand, vid=value_id(e164)
                )

    def _pair(self, pair: Pair) -> Iterator[Hit]:
        return self._coords(pair.lat, pair.lon, pair.location, pair.chain)

    def _coords(self, lat_s: str, lon_s: str, loc: tuple[str, ...], chain: tuple[str, ...]) -> Iterator[Hit]:
        try:
            lat, lon = float(lat_s), float(lon_s)
        except ValueError:
            return
        if not (-90 <= lat <= 90 and -180 <= lon <= 180) or (lat == 0 and lon == 0):
            return
        places = min(_decimals(lat_s), _decimals(lon_s))
        category = "precise_location" if places >= PRECISE_DECIMALS else "coarse_location"
        text = f"{lat_s},{lon_s}"
        self.last_values.extend((lat_s, lon_s))
        mine = self.profile.location if self.profile else None
        if mine is not None and abs(lat - mine[0]) < 10.0**-places and abs(lon - mine[1]) < 10.0**-places:
            yield Hit(
                category,
                "location",
                "profile",
                "/".join(loc),
                chain,
                _redact_coords(lat_s, lon_s, self.show),
                value_id(f"{mine[0]},{mine[1]}"),
            )
        else:
            yield Hit(
                category,
                "location",
                "pattern",
                "/".join(loc),
                chain,
                _redact_coords(lat_s, lon_s, self.show),
                value_id(text),
            )


def _rank(hit: Hit) -> tuple[int, int]:
    """Profile matches first, then the shortest decoding chain."""
    return (0 if hit.matched == "profile" else 1, len(hit.encoding))


def _decimals(s: str) -> int:
    s = s.strip()
    if "e" in s.lower():
        return 0
    return len(s.split(".", 1)[1]) if "." in s else 0


def _redact_coords(lat: str, lon: str, show: bool) -> str:
    if show:
        return f"{lat},{lon}"
    return f"{lat.split('.')[0]}.…,{lon.split('.')[0]}.…"

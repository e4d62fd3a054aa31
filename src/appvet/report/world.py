"""The world map of a review: which countries data can reach, drawn as inline SVG from packaged outlines.

Outlines are Natural Earth 1:110m admin-0 countries (public domain), simplified and projected once
into ``data/world-110m.json``. Small jurisdictions that matter for ownership (Singapore, the Cayman
Islands, Hong Kong ...) have no outline at that scale, so they are drawn as dots at their position.
"""

from __future__ import annotations

import json
from collections import defaultdict
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Any

from markupsafe import Markup, escape

from appvet.model import FIRST_PARTY, Review

# Longitude, latitude of places too small for the 1:110m outlines.
SMALL_PLACES: dict[str, tuple[float, float]] = {
    "AD": (1.5, 42.5), "AG": (-61.8, 17.1), "BB": (-59.5, 13.2), "BH": (50.6, 26.0), "BM": (-64.8, 32.3),
    "BS": (-77.4, 25.0), "GG": (-2.6, 49.5), "GI": (-5.4, 36.1), "HK": (114.2, 22.3), "IM": (-4.5, 54.2),
    "JE": (-2.1, 49.2), "KN": (-62.7, 17.3), "KY": (-81.3, 19.3), "LC": (-61.0, 13.9), "LI": (9.5, 47.2),
    "LU": (6.1, 49.8), "MC": (7.4, 43.7), "MO": (113.5, 22.2), "MT": (14.4, 35.9), "MU": (57.6, -20.3),
    "MV": (73.5, 4.2), "SC": (55.5, -4.7), "SG": (103.8, 1.35), "SM": (12.4, 43.9), "VG": (-64.6, 18.4),
    "VA": (12.45, 41.9), "BN": (114.7, 4.5), "CW": (-69.0, 12.2), "GU": (144.8, 13.4), "PR": (-66.5, 18.2),
}

# Sequential blues, each with text contrast >= 4.5:1 for the legend label drawn on it.
SHADES: tuple[tuple[str, str], ...] = (
    ("#dbe9f6", "#0b1f33"), ("#9ecae1", "#0b1f33"), ("#6baed6", "#0b1f33"), ("#2171b5", "#ffffff"),
    ("#08306b", "#ffffff"),
)
LAND = "#e4e4e4"
BORDER = "#ffffff"


@dataclass(frozen=True)
class CountryReach:
    """Why data can reach one country: which categories, through whom, and on what grounds."""

    country: str
    name: str
    categories: tuple[str, ...]
    reasons: tuple[str, ...]
    """One line per ground: ``host endpoint alog.umeng.com (owner umeng)``, ``controls Pangle SDK``."""
    observed: bool
    """A captured request carried personal data to a party or server in this country."""


@cache
def outlines() -> dict[str, Any]:
    """The packaged country outlines (read once)."""
    text = resources.files("appvet.report").joinpath("data/world-110m.json").read_text(encoding="utf-8")
    data: dict[str, Any] = json.loads(text)
    return data


SMALL_NAMES: dict[str, str] = {
    "AD": "Andorra", "AG": "Antigua and Barbuda", "BB": "Barbados", "BH": "Bahrain", "BM": "Bermuda",
    "BS": "Bahamas", "GG": "Guernsey", "GI": "Gibraltar", "HK": "Hong Kong", "IM": "Isle of Man", "JE": "Jersey",
    "KN": "Saint Kitts and Nevis", "KY": "Cayman Islands", "LC": "Saint Lucia", "LI": "Liechtenstein",
    "LU": "Luxembourg", "MC": "Monaco", "MO": "Macao", "MT": "Malta", "MU": "Mauritius", "MV": "Maldives",
    "SC": "Seychelles", "SG": "Singapore", "SM": "San Marino", "VG": "British Virgin Islands", "VA": "Vatican City",
    "BN": "Brunei", "CW": "Curaçao", "GU": "Guam", "PR": "Puerto Rico",
}


def country_name(code: str) -> str:
    entry = outlines()["countries"].get(code)
    return str(entry["name"]) if entry else SMALL_NAMES.get(code, code)


def _holder_categories(review: Review) -> dict[str, set[str]]:
    by_holder: dict[str, set[str]] = defaultdict(set)
    for c in review.capabilities:
        # Permission-only capabilities belong to the app as a whole, i.e. to first-party code.
        by_holder[FIRST_PARTY if c.holder == "manifest" else c.holder].add(c.category)
    return by_holder


def reach(review: Review) -> dict[str, CountryReach]:
    """Countries that control code able to take data, own its endpoints, or host servers it talked to."""
    by_holder = _holder_categories(review)
    cats: dict[str, set[str]] = defaultdict(set)
    reasons: dict[str, set[str]] = defaultdict(set)
    observed: set[str] = set()

    def add(country: str | None, categories: set[str] | tuple[str, ...], reason: str) -> None:
        if not country:
            return
        cats[country].update(categories)
        reasons[country].add(reason)

    for sdk in review.sdks:
        seats = {link.country for link in sdk.owner_chain if link.country}
        for code in sdk.jurisdictions:
            if code in seats:
                add(code, by_holder.get(sdk.id, set()), f"controls {sdk.name}")
            else:
                # A holding company's registered office (Cayman, BVI ...): a legal seat, not a place data goes.
                add(code, set(), f"country of incorporation of an owner of {sdk.name}, not of its operations")
    for cert in review.app.signers:
        add(cert.country, by_holder.get(FIRST_PARTY, set()), f"app signer {cert.organisation or cert.subject}")
    for link in review.app.developer:
        add(link.country, by_holder.get(FIRST_PARTY, set()), f"developer {link.name}")
    for e in review.endpoints:
        holder_cats = by_holder.get(e.holder or "", set())
        add(e.owner_country, holder_cats, f"owns endpoint {e.host} ({e.owner or '?'})")
    if review.traffic is not None:
        for f in review.traffic.flows:
            d = f.destination
            hit_cats = {h.category for h in f.hits}
            host = d.host or d.ip or "?"
            for code, why in ((d.owner_country, f"owner of {host}, seen in traffic"),
                              (d.hosting_country or d.ip_country, f"server of {host}, seen in traffic")):
                add(code, hit_cats, why)
                if code and hit_cats:
                    observed.add(code)
    return {
        code: CountryReach(code, country_name(code), tuple(sorted(cats[code])), tuple(sorted(reasons[code])),
                           code in observed)
        for code in sorted(cats)
    }


def _shade(n: int, top: int) -> tuple[str, str]:
    if n <= 0:
        return SHADES[0]
    step = 1 + (n - 1) * (len(SHADES) - 1) // max(top, 1)
    return SHADES[min(step, len(SHADES) - 1)]


def _point(lon: float, lat: float) -> tuple[float, float]:
    data = outlines()
    k = float(data["width"]) / 360.0
    return round((lon + 180.0) * k, 1), round((float(data["top"]) - lat) * k, 1)


def world_svg(countries: dict[str, CountryReach]) -> Markup:
    """The map: every country drawn, those data can reach shaded by how many categories reach them."""
    data = outlines()
    width, height = data["width"], data["height"]
    top = max((len(r.categories) for r in countries.values()), default=1)
    parts = [
        f'<svg class="world" viewBox="0 0 {width:g} {height:g}" role="img" aria-labelledby="map-t map-d" '
        'xmlns="http://www.w3.org/2000/svg">',
        '<title id="map-t">Countries personal data can reach</title>',
        f'<desc id="map-d">{escape(_describe(countries))}</desc>',
        f'<rect width="{width:g}" height="{height:g}" fill="#f4f8fb"/>',
    ]
    for code, entry in data["countries"].items():
        r = countries.get(code)
        if r is None:
            parts.append(f'<path d="{entry["d"]}" fill="{LAND}" stroke="{BORDER}" stroke-width=".4"/>')
            continue
        fill, _ = _shade(len(r.categories), top)
        parts.append(
            f'<path class="reached" data-country="{escape(code)}" d="{entry["d"]}" fill="{fill}" '
            f'stroke="#333" stroke-width=".6"><title>{escape(_tooltip(r))}</title></path>'
        )
    for code, r in countries.items():
        if code in data["countries"]:
            continue
        lonlat = SMALL_PLACES.get(code)
        if lonlat is None:
            continue
        x, y = _point(*lonlat)
        fill, _ = _shade(len(r.categories), top)
        parts.append(
            f'<circle class="reached dot" data-country="{escape(code)}" cx="{x:g}" cy="{y:g}" r="5" fill="{fill}" '
            f'stroke="#333" stroke-width="1"><title>{escape(_tooltip(r))}</title></circle>'
        )
    for code, r in countries.items():
        entry = data["countries"].get(code)
        pos = tuple(entry["c"]) if entry else (_point(*SMALL_PLACES[code]) if code in SMALL_PLACES else None)
        if pos is None:
            continue
        ring = ' class="seen"' if r.observed else ""
        parts.append(f'<text{ring} x="{pos[0]:g}" y="{pos[1] - 7:g}" text-anchor="middle" aria-hidden="true">'
                     f'{escape(code)}</text>')
    parts.append("</svg>")
    return Markup("".join(parts))


def legend(countries: dict[str, CountryReach]) -> list[tuple[str, str, str]]:
    """(fill, text colour, label) per shade used, for the HTML legend under the map."""
    top = max((len(r.categories) for r in countries.values()), default=1)
    seen: dict[str, tuple[str, str, int, int]] = {}
    for r in countries.values():
        fill, ink = _shade(len(r.categories), top)
        lo, hi = seen.get(fill, (fill, ink, len(r.categories), len(r.categories)))[2:]
        seen[fill] = (fill, ink, min(lo, len(r.categories)), max(hi, len(r.categories)))
    out = []
    for fill, ink, lo, hi in sorted(seen.values(), key=lambda v: v[2]):
        label = f"{lo}" if lo == hi else f"{lo}–{hi}"
        out.append((fill, ink, f"{label} data categor{'y' if hi == 1 else 'ies'}"))
    return out


def _tooltip(r: CountryReach) -> str:
    cats = ", ".join(r.categories) or "no personal data category"
    return f"{r.name} ({r.country}): {cats}. " + "; ".join(r.reasons)


def _describe(countries: dict[str, CountryReach]) -> str:
    if not countries:
        return "No country is named by the review."
    most = sorted(countries.values(), key=lambda r: (-len(r.categories), r.country))
    return "Shaded countries: " + "; ".join(f"{r.name} ({len(r.categories)} categories)" for r in most) + "."


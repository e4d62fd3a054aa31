"""Who receives a flow and where: host -> domain -> KB entity -> owner chain; IP -> countries, operator.

Three different countries answer three different questions and are kept apart: the owner's country
(who controls the data, from the KB), the IP's country of registration (RIR delegation data via
``iptocc``, offline), and, with a user's GeoIP ``.mmdb``, where the server is hosted. When the IP lies
in a cloud or CDN range the last two describe that operator's network, and ``country_note`` says so.
"""

from __future__ import annotations

import ipaddress
import json
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Any

import iptocc

from appvet.analyze.endpoints import registrable_domain
from appvet.errors import FormatError
from appvet.kb import KnowledgeBase
from appvet.traffic.model import Destination

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


@dataclass(frozen=True)
class Operator:
    id: str
    name: str
    kind: str
    """``cloud`` or ``cdn``."""
    asns: tuple[int, ...]
    networks: tuple[Network, ...]
    source: str


@lru_cache(maxsize=1)
def operators() -> tuple[Operator, ...]:
    """The packaged table of cloud and CDN ranges (``data/clouds.json``)."""
    raw = resources.files("appvet.traffic").joinpath("data/clouds.json").read_text(encoding="utf-8")
    doc = json.loads(raw)
    return tuple(
        Operator(
            row["id"],
            row["name"],
            row["kind"],
            tuple(row["asns"]),
            tuple(ipaddress.ip_network(c) for c in row["cidrs"]),
            row["source"],
        )
        for row in doc["operators"]
    )


def operator_for(ip: str | None, asn: int | None = None) -> Operator | None:
    addr = _ip(ip)
    for op in operators():
        if addr is not None and any(addr in net for net in op.networks if net.version == addr.version):
            return op
        if asn is not None and asn in op.asns:
            return op
    return None


def _ip(text: str | None) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    if not text:
        return None
    try:
        return ipaddress.ip_address(text)
    except ValueError:
        return None


@lru_cache(maxsize=65536)
def ip_country(ip: str) -> str | None:
    """Country in which the address block is registered (None for private or unknown addresses)."""
    addr = _ip(ip)
    if addr is None or not addr.is_global:
        return None
    return iptocc.country_code(str(addr))


class GeoIp:
    """Reader for user-supplied MaxMind-format databases (country/city and/or ASN)."""

    def __init__(self, paths: list[str | Path]) -> None:
        import maxminddb

        self.readers = []
        for p in paths:
            try:
                self.readers.append(maxminddb.open_database(str(p)))
            except (OSError, ValueError, maxminddb.InvalidDatabaseError) as exc:
                raise FormatError(f"cannot open GeoIP database: {exc}", file=Path(p).name) from None

    def lookup(self, ip: str) -> tuple[str | None, int | None, str | None]:
        """(hosting country, ASN, AS organisation)."""
        country = asn = org = None
        for r in self.readers:
            try:
                rec: Any = r.get(ip)
            except ValueError:
                continue
            if not isinstance(rec, dict):
                continue
            c = rec.get("country") or rec.get("registered_country")
            if country is None and isinstance(c, dict) and isinstance(c.get("iso_code"), str):
                country = c["iso_code"]
            if asn is None and isinstance(rec.get("autonomous_system_number"), int):
                asn = rec["autonomous_system_number"]
                org = rec.get("autonomous_system_organization")
        return country, asn, org if isinstance(org, str) else None


def destination(host: str | None, ip: str | None, kb: KnowledgeBase, geoip: GeoIp | None = None) -> Destination:
    h = (host or "").lower().rstrip(".")
    is_ip = _ip(h) is not None
    domain = registrable_domain(h) if h and not is_ip else None
    entity = kb.entity_for_host(h) if h and not is_ip else None
    chain = tuple(e.id for e in kb.owner_chain(entity)) if entity else ()
    top = kb.entities.get(chain[-1]) if chain else None
    owner_country = (top.country_hq or top.country_inc) if top else None
    jurisdictions = tuple(kb.jurisdictions(entity)) if entity else ()
    address = ip or (h if is_ip else None)
    reg = ip_country(address) if address else None
    hosting = asn = org = None
    if geoip is not None and address:
        hosting, asn, org = geoip.lookup(address)
    op = operator_for(address, asn)
    note = None
    if op is not None:
        what = "a CDN edge" if op.kind == "cdn" else "a cloud region"
        note = f"{address} is in {op.name}'s published ranges: its country is that of {what}, not of the recipient"
    return Destination(
        host=h or None,
        ip=address,
        domain=domain,
        entity=entity,
        owner_chain=chain,
        owner_country=owner_country,
        jurisdictions=jurisdictions,
        ip_country=reg,
        hosting_country=hosting,
        asn=asn,
        as_org=org,
        operator=op.id if op else None,
        country_note=note,
    )

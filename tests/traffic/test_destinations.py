"""Destinations: owner, registration country, GeoIP hosting country and ASN, cloud/CDN operators."""

from __future__ import annotations

import pytest

from appvet.errors import FormatError
from appvet.traffic.destinations import GeoIp, destination, ip_country, operator_for, operators
from tests.traffic import mmdb


def test_operator_table_is_sourced_and_covers_the_named_providers() -> None:
    ops = operators()
    assert {o.id for o in ops} >= {"aws", "google-cloud", "azure", "cloudflare", "akamai", "fastly", "alibaba-cloud",
                                   "tencent-cloud", "huawei-cloud"}
    for op in ops:
        assert op.source.startswith("https://") and op.networks and op.kind in ("cloud", "cdn")


def test_ranges_and_asns() -> None:
    assert operator_for("104.16.1.1").id == "cloudflare"  # type: ignore[union-attr]
    assert operator_for("2606:4700::1").id == "cloudflare"  # type: ignore[union-attr]
    assert operator_for("151.101.1.1").id == "fastly"  # type: ignore[union-attr]
    assert operator_for("198.51.100.7") is None
    assert operator_for("198.51.100.7", asn=45102).id == "alibaba-cloud"  # type: ignore[union-attr]
    assert ip_country("10.0.0.1") is None and ip_country("not an ip") is None


def test_geoip_database(tmp_path, kb) -> None:  # type: ignore[no-untyped-def]
    db = tmp_path / "geo.mmdb"
    db.write_bytes(mmdb.write([
        ("157.240.0.0/16", {"country": {"iso_code": "IE"}, "autonomous_system_number": 32934,
                            "autonomous_system_organization": "FACEBOOK"}),
        ("198.51.100.0/24", {"country": {"iso_code": "SG"}, "autonomous_system_number": 13335,
                             "autonomous_system_organization": "CLOUDFLARENET"}),
    ]))
    geo = GeoIp([db])
    d = destination("graph.facebook.com", "157.240.1.35", kb, geo)
    assert (d.entity, d.owner_country, d.ip_country, d.hosting_country, d.asn, d.as_org) == (
        "meta", "US", "US", "IE", 32934, "FACEBOOK")
    assert d.operator is None and d.country_note is None
    e = destination("collect.example-analytics.net", "198.51.100.7", kb, geo)
    assert (e.hosting_country, e.operator) == ("SG", "cloudflare")
    assert "CDN edge" in (e.country_note or "")
    (tmp_path / "bad.mmdb").write_bytes(b"not a database")
    with pytest.raises(FormatError):
        GeoIp([tmp_path / "bad.mmdb"])


def test_ip_literal_host(kb) -> None:  # type: ignore[no-untyped-def]
    d = destination("106.11.1.10", None, kb)
    assert (d.ip, d.domain, d.entity, d.ip_country) == ("106.11.1.10", None, None, "CN")

"""Endpoints: only host names, never Java identifiers, property names, versions or cookie domains.

endpoints/hosts.apk (tests/fixtures/apps/hosts) holds look-alikes next to real hosts; the truth below is
written from its smali sources, not from appvet's output.
"""

from __future__ import annotations

import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from appvet.analyze.endpoints import HostRules, shapes
from appvet.model import Review
from appvet.review import review
from tests.conftest import BUILT

REAL = {
    "https://m.example-shop.com/cart?x=1",  # a URL
    "93.184.216.34",  # a bare IP passed to java.net.Socket
    "push.example-push.net",  # host:port
    "telemetry.example.dev",  # passed to InetAddress.getByName, though .dev is also a file ending
    "cdn.example-assets.cn",  # a bare name in a country-code TLD
}
LOOKALIKES = {
    "android.os.build", "libcore.icu.icu", "libcore.icu.ICU", "com.crashlytics.android", "ro.miui.ui.version.name",
    "ro.build.version.emui", "5.2.4.1", ".facebook.com", "*.example-cdn.com", "org.example.hosts.mainactivity",
}


@pytest.fixture(scope="module")
def hosts_review(kb) -> Review:  # type: ignore[no-untyped-def]
    return review(BUILT / "endpoints" / "hosts.apk", kb=kb)


def test_every_reported_endpoint_is_a_real_host(hosts_review: Review) -> None:
    values = {e.value for e in hosts_review.endpoints}
    hosts = {e.host for e in hosts_review.endpoints}
    assert not {x.lower() for x in LOOKALIKES} & (values | hosts)
    precision = len(values & REAL) / len(values)
    assert precision == 1.0, values - REAL
    assert values == REAL  # and none of the real ones is lost


def test_each_real_host_carries_its_code_location(hosts_review: Review) -> None:
    by_value = {e.value: e for e in hosts_review.endpoints}
    assert any("connect()V" in ev.locator for ev in by_value["93.184.216.34"].evidence)
    assert any("resolve()V" in ev.locator for ev in by_value["telemetry.example.dev"].evidence)


def test_rules_without_app_context(kb) -> None:  # type: ignore[no-untyped-def]
    rules = HostRules(kb, {"com.crashlytics", "com.crashlytics.android"})

    def kept(s: str, host_use: bool = False) -> set[str]:
        return {c.host for c in shapes(s) if rules.keep(c, host_use)}

    for s in LOOKALIKES:
        assert kept(s) == set(), s
    assert kept("5.2.4.1", host_use=True) == {"5.2.4.1"}  # a literal given to a socket API
    assert kept("graph.facebook.com") == {"graph.facebook.com"}
    assert kept("umeng.com") == {"umeng.com"}  # a domain the KB knows
    assert kept("https://api.example.org/v1") == {"api.example.org"}
    assert kept("libfoo.so") == kept("config.json") == set()


_HOSTNAME = re.compile(r"^(?:[a-z0-9](?:[a-z0-9-]*[a-z0-9])?\.)+[a-z0-9-]+$")


@given(st.text(alphabet=st.sampled_from("abcAB0159.-:/_*@?#%[]"), max_size=60) | st.text(max_size=60))
def test_shapes_never_raise_and_give_clean_hosts(s: str) -> None:
    for c in shapes(s):
        assert c.host == c.host.lower()
        assert c.kind in ("url", "host", "ip")
        if c.kind != "ip":
            assert _HOSTNAME.match(c.host), c.host

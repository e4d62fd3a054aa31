"""The fast public-suffix lookup gives exactly tldextract's answer on every rule of the list and on random hosts."""

from __future__ import annotations

import tldextract
from hypothesis import given, settings
from hypothesis import strategies as st

from appvet.analyze import suffixes
from appvet.analyze.endpoints import registrable_domain

_EXTRACT = tldextract.TLDExtract(suffix_list_urls=(), cache_dir=None)


def _theirs(host: str) -> str:
    return _EXTRACT(host).top_domain_under_public_suffix


def _rule_hosts() -> list[str]:
    rules, _ = suffixes._tables()  # type: ignore[misc]
    hosts = []
    for rule in sorted(rules):
        bare = rule.lstrip("!").replace("*", "w")
        for host in (bare, f"x.{bare}", f"y.x.{bare}", bare.split(".", 1)[-1]):
            if suffixes.registrable(host) is not suffixes.NOT_PLAIN:
                hosts.append(host)
    return hosts


def test_every_rule_of_the_list_agrees_with_tldextract() -> None:
    hosts = _rule_hosts()
    assert len(hosts) > 20000  # the ICANN section has thousands of rules; a missing snapshot would show here
    wrong = [(h, suffixes.registrable(h), _theirs(h)) for h in hosts if suffixes.registrable(h) != _theirs(h)]
    assert wrong == []


def test_wildcards_and_exceptions() -> None:
    assert suffixes.registrable("a.b.city.kawasaki.jp") == "city.kawasaki.jp"  # !city.kawasaki.jp
    assert suffixes.registrable("a.b.other.kawasaki.jp") == "b.other.kawasaki.jp"  # *.kawasaki.jp
    assert suffixes.registrable("a.b.qq.com") == "qq.com"
    assert suffixes.registrable("co.uk") == ""
    assert suffixes.registrable("localhost") == ""
    assert suffixes.registrable("10.0.0.1") == _theirs("10.0.0.1") == ""


def test_hosts_it_does_not_decide_go_to_tldextract() -> None:
    for host in ("WWW.Example.COM", "xn--fiqs8s.xn--55qx5d.cn", "a..com", "bücher.de", "[::1]"):
        assert suffixes.registrable(host) is suffixes.NOT_PLAIN
        assert registrable_domain(host) == (_theirs(host) or None)


_LABELS = st.sampled_from(["com", "uk", "co", "jp", "kawasaki", "city", "ck", "www", "appspot", "github", "io",
                           "cn", "net", "org", "blogspot", "s3", "amazonaws", "bd", "er", "x", "a-b", "1", "_u"])


@settings(max_examples=600, deadline=None)
@given(st.lists(st.one_of(_LABELS, st.from_regex(r"[a-z0-9_-]{1,8}", fullmatch=True)), min_size=1, max_size=6))
def test_random_hosts_agree_with_tldextract(labels: list[str]) -> None:
    host = ".".join(labels)
    mine = suffixes.registrable(host)
    if mine is not suffixes.NOT_PLAIN:
        assert mine == _theirs(host)
    assert registrable_domain(host) == (_theirs(host) or None)

"""No detected personal value appears in any output unless --show-values: JSON, HTML, Markdown, SARIF, text.

The captures are the committed fixtures (written by real libraries) plus one HAR written here with
values where the committed ones have none: a lat/lon pair as two query parameters, an IMEI in a URL
path, an Android ID in a fragment, and credentials in the URL's user part.
"""

from __future__ import annotations

import html
import json
import re
import subprocess
import sys
from pathlib import Path
from urllib.parse import unquote

import pytest
import yaml

from tests.conftest import BUILT, FIXTURES

TRAFFIC = FIXTURES / "traffic"
FORMATS = ("json", "html", "markdown", "sarif", "text")


def _entry(url: str, query: list[tuple[str, str]], ip: str) -> dict:  # type: ignore[type-arg]
    return {
        "startedDateTime": "2025-01-01T00:01:00+00:00", "time": 10, "serverIPAddress": ip,
        "request": {"method": "GET", "url": url, "httpVersion": "HTTP/1.1", "headers": [], "cookies": [],
                    "queryString": [{"name": k, "value": v} for k, v in query], "headersSize": -1, "bodySize": 0},
        "response": {"status": 204, "statusText": "No Content", "httpVersion": "HTTP/1.1", "headers": [],
                     "cookies": [], "content": {"size": 0, "mimeType": ""}, "redirectURL": "", "headersSize": -1,
                     "bodySize": 0},
        "cache": {}, "timings": {"send": 1, "wait": 1, "receive": 1},
    }


@pytest.fixture(scope="module")
def extra_har(tmp_path_factory: pytest.TempPathFactory) -> Path:
    entries = [
        _entry("https://graph.facebook.com/v2/loc?lat=39.9087&lon=116.3975&v=2",
               [("lat", "39.9087"), ("lon", "116.3975"), ("v", "2")], "157.240.1.35"),
        _entry("https://user:9774d56d682e549c@ulogs.umeng.com/d/490154203237518/ping#aid=9774d56d682e549c", [],
               "106.11.1.1"),
    ]
    har = {"log": {"version": "1.2", "creator": {"name": "appvet-tests", "version": "1"}, "pages": [],
                   "entries": entries}}
    path = tmp_path_factory.mktemp("har") / "extra.har"
    path.write_text(json.dumps(har), encoding="utf-8")
    return path


def planted() -> set[str]:
    """Every value of the device profile, and the forms the captures send them in."""
    d = yaml.safe_load((TRAFFIC / "device.yaml").read_text())
    values = {str(d[k]) for k in ("imei", "imsi", "iccid", "android_id", "advertising_id", "wifi_mac", "email",
                                  "clipboard")}
    values.add(d["contacts"][0]["phone"])
    values |= {re.sub(r"\D", "", d["phone_number"]), re.sub(r"\D", "", d["contacts"][0]["phone"])}
    values |= {d["wifi_mac"].replace(":", "").upper(), d["wifi_mac"].upper()}
    values |= {"39.9087", "116.3975", "39.908722", "116.397499", "31.2304"}
    return values


@pytest.fixture(scope="module")
def shown(extra_har: Path) -> str:
    return _review("json", extra_har, "--show-values")


@pytest.fixture(scope="module")
def sent(shown: str) -> set[str]:
    """Every value detection found in the captures, as sent (hashes, other formats), read with --show-values.

    Installed-app package names are left out: the app's own manifest may name the same packages."""
    flows = json.loads(shown)["traffic"]["flows"]
    return {h["excerpt"] for f in flows for h in f["hits"] if h["kind"] != "package"}


def _flat(text: str) -> str:
    """Output as a person would read it: URL escapes and HTML entities decoded, case folded."""
    return unquote(html.unescape(text)).lower()


def _run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "appvet.cli", *args], capture_output=True, text=True, timeout=300)


def _review(fmt: str, extra_har: Path, *more: str) -> str:
    captures = [TRAFFIC / "flows.har", TRAFFIC / "flows.mitm", TRAFFIC / "capture.pcapng", extra_har]
    args = ["review", str(BUILT / "multisdk.apk"), "--device", str(TRAFFIC / "device.yaml"), "-f", fmt, "-q",
            "--policy", "us-foreign-adversary", "--date", "2026-11-29", *more]
    for c in captures:
        args += ["-t", str(c)]
    proc = _run(*args)
    assert proc.returncode in (0, 1), proc.stderr
    return proc.stdout


@pytest.mark.parametrize("fmt", FORMATS)
def test_no_planted_value_in_any_review_output(fmt: str, extra_har: Path, sent: set[str]) -> None:
    out = _review(fmt, extra_har)
    flat = out.lower().replace("%3a", ":").replace("%2c", ",")
    leaked = sorted(v for v in planted() if v.lower() in flat)
    assert not leaked, f"{fmt} shows {leaked}"
    leaked = sorted(v for v in planted() | sent if v.lower() in _flat(out))
    assert not leaked, f"{fmt} shows {leaked}"
    assert "observed" in out.lower()  # the capture was read and joined


@pytest.mark.parametrize("fmt", ("json", "text"))
def test_no_planted_value_in_the_traffic_command(fmt: str, extra_har: Path, sent: set[str]) -> None:
    proc = _run("traffic", str(TRAFFIC / "flows.har"), str(TRAFFIC / "capture.pcapng"), str(extra_har),
                "--device", str(TRAFFIC / "device.yaml"), "-f", fmt)
    assert proc.returncode == 0, proc.stderr
    leaked = sorted(v for v in planted() if v.lower() in proc.stdout.lower())
    assert not leaked, leaked
    leaked = sorted(v for v in planted() | sent if v.lower() in _flat(proc.stdout))
    assert not leaked, leaked


def test_show_values_shows_them(shown: str, sent: set[str]) -> None:
    out = shown
    assert "lat=39.9087" in out and "490154203237518" in out
    # The values checked above are really in the captures, in each place of the URL the HAR written here uses
    # (path, user part, fragment, a lat/lon pair) and in hashed and re-encoded forms from the committed ones.
    urls = {f["url"] for f in json.loads(out)["traffic"]["flows"]}
    assert "https://user:9774d56d682e549c@ulogs.umeng.com/d/490154203237518/ping#aid=9774d56d682e549c" in urls
    assert {"39.9087,116.3975", "9774d56d682e549c", "490154203237518", "li.lei@example.net",
            "8c4afd15e1e6a6900e2e21dd02a10c54c32361bf", "021A11F0C39E", "HomeNet-5G"} <= sent
    assert len(sent) >= 20

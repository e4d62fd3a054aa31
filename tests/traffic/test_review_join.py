"""`appvet review --traffic` raises what a capture shows to `observed`, and nothing else."""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import date

from appvet.model import from_dict, to_dict
from appvet.review import review
from tests.conftest import BUILT, FIXTURES

TRAFFIC = FIXTURES / "traffic"


def test_capture_raises_matching_capabilities_and_endpoints(kb) -> None:  # type: ignore[no-untyped-def]
    static = review(BUILT / "multisdk.apk", kb=kb, on=date(2026, 11, 29))
    joined = review(BUILT / "multisdk.apk", kb=kb, on=date(2026, 11, 29), traffic=[TRAFFIC / "flows.har"],
                    device=TRAFFIC / "device.yaml")
    before = {(c.category, c.holder): c.confidence for c in static.capabilities}
    after = {(c.category, c.holder): c.confidence for c in joined.capabilities}
    assert set(before) == set(after)  # traffic never adds code that static analysis did not find
    raised = {k for k in after if after[k] == "observed"}
    assert ("phone_number", "facebook-audience-network") in raised
    assert ("device_identifiers", "umeng-analytics") in raised
    assert all(before[k] != "observed" for k in raised)
    assert {k for k in after if after[k] != before[k]} == raised
    hosts = {e.host for e in joined.endpoints if e.confidence == "observed"}
    assert {"ulogs.umeng.com", "graph.facebook.com"} <= hosts
    assert "alog.umeng.com" not in hosts  # in the code, never seen leaving
    assert joined.traffic is not None and "alog.umeng.com" in joined.traffic.unseen_endpoints
    assert from_dict(json.loads(json.dumps(to_dict(joined)))) == joined


def test_detected_values_are_redacted_in_the_report() -> None:
    device = (TRAFFIC / "device.yaml").read_text()
    proc = subprocess.run(
        [sys.executable, "-m", "appvet.cli", "review", str(BUILT / "multisdk.apk"), "-t", str(TRAFFIC / "flows.har"),
         "--device", str(TRAFFIC / "device.yaml"), "-f", "json", "-q"], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["traffic"]["flows"]
    for line in device.splitlines():
        key, _, value = line.partition(":")
        value = value.strip().strip("'\"")
        if key.strip() in ("imei", "phone_number", "android_id", "imsi", "iccid") and len(value) > 6:
            assert value not in proc.stdout, key

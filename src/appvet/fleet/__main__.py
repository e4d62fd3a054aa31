"""``python -m appvet.fleet ...``: the fleet commands without the main CLI (also what tests run)."""

from __future__ import annotations

from appvet.fleet.cli import fleet_app

if __name__ == "__main__":
    fleet_app(prog_name="appvet fleet")

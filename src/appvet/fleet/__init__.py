"""Fleet reviews: thousands of apps on one machine or a Dask cluster, resumable, into a SQL store.

    run_fleet(inputs, FleetOptions(...), progress=None) -> FleetSummary
    open_store(url) -> sqlalchemy.Engine          migrated to the newest schema
    summary(engine, top=20) -> dict               export(engine, fmt, out) -> list[Path]

See docs/fleet.md. Names are imported on first use: every review runs in a process started as
``python -m appvet.fleet.child``, which imports this package and must not pay for Dask or SQLAlchemy.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

__all__ = ["FleetOptions", "FleetSummary", "Key", "Limits", "export", "open_store", "run_fleet", "summary"]

_WHERE = {"FleetOptions": "engine", "FleetSummary": "engine", "run_fleet": "engine", "export": "report",
          "summary": "report", "Key": "store", "open_store": "store", "Limits": "task"}

if TYPE_CHECKING:
    from appvet.fleet.engine import FleetOptions, FleetSummary, run_fleet
    from appvet.fleet.report import export, summary
    from appvet.fleet.store import Key, open_store
    from appvet.fleet.task import Limits


def __getattr__(name: str) -> Any:
    if name in _WHERE:
        return getattr(importlib.import_module(f"appvet.fleet.{_WHERE[name]}"), name)
    raise AttributeError(f"module 'appvet.fleet' has no attribute {name!r}")

"""The fleet's progress bar: done / failed / remaining, rate and ETA, on stderr."""

from __future__ import annotations

import time
from typing import Any

from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeRemainingColumn


class RichProgress:
    """A ``Progress`` sink for ``run_fleet`` drawing one rich bar; use as a context manager."""

    def __init__(self, console: Console | None = None) -> None:
        self.done = 0
        self.failed = 0
        self.total = 0
        self._t0 = time.perf_counter()
        self._bar = Progress(
            TextColumn("[bold]fleet"), BarColumn(),
            TextColumn("{task.fields[done]} done, [red]{task.fields[failed]} failed[/], {task.fields[left]} left"),
            TextColumn("{task.fields[rate]}/min"), TimeRemainingColumn(),
            console=console or Console(stderr=True), transient=False)
        self._task: Any = None

    def __enter__(self) -> RichProgress:
        self._bar.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._bar.stop()

    def start(self, total: int) -> None:
        self.total = total
        self._t0 = time.perf_counter()
        self._task = self._bar.add_task("fleet", total=total, **self._fields())

    def advance(self, ok: bool) -> None:
        self.done += 1
        self.failed += 0 if ok else 1
        self._bar.update(self._task, advance=1, **self._fields())

    def _fields(self) -> dict[str, Any]:
        elapsed = max(time.perf_counter() - self._t0, 1e-6)
        return {"done": self.done, "failed": self.failed, "left": self.total - self.done,
                "rate": f"{self.done * 60 / elapsed:.1f}"}

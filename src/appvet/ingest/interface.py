"""What ingest hands to the format readers: the APKs of one input, opened safely."""

from __future__ import annotations

import time
from dataclasses import dataclass, field

from appvet.errors import LimitExceeded
from appvet.ingest.zipread import Limits, ZipArchive


@dataclass(frozen=True)
class ApkPart:
    """One APK of the input: the APK itself, or the base or a split of a bundle."""

    name: str
    """``base.apk``-style name; for a plain APK, the input file's name."""
    archive: ZipArchive
    prefix: str
    """Prefix for evidence paths of entries of this APK (``""`` for a plain APK, ``"split_x.apk!"`` in a bundle)."""
    signed: ZipArchive | None = None
    """The archive whose entry names the signature covers when it is not ``archive`` (an App Bundle's base
    module is read under APK names, but jarsigner signed the bundle's own names)."""


@dataclass(frozen=True)
class InputPackage:
    file_name: str
    sha256: str
    size: int
    kind: str
    """``apk``, ``xapk``, ``apks`` or ``apkm``."""
    parts: tuple[ApkPart, ...]
    """The base APK first."""


@dataclass
class Budget:
    """The bounds of one stage: counted work first, wall-clock seconds only as a last resort.

    A stage that can grow with its input counts its work (methods, instructions, edges, stored
    facts) with ``spend`` against ``work``; that bound is what normally stops it, so the same
    input gives the same report on a fast machine and on a busy one. ``seconds`` is a guard
    against a stage that runs away in a way the work count did not foresee; when it trips, the
    Skip says it was the time guard, so a reader knows that this part of the report may differ
    between runs.
    """

    stage: str
    seconds: float
    started: float
    work: int | None = None
    """Units of work allowed (``None``: not counted)."""
    unit: str = "steps"
    spent: int = 0

    @classmethod
    def start(cls, stage: str, seconds: float, *, work: int | None = None, unit: str = "steps") -> Budget:
        return cls(stage, seconds, time.monotonic(), work, unit)

    def exceeded(self) -> bool:
        return time.monotonic() - self.started > self.seconds

    def check(self, file: str) -> None:
        """The time guard: raise ``LimitExceeded`` once the stage has run for more than ``seconds``."""
        if self.exceeded():
            raise LimitExceeded(f"stage '{self.stage}' ran past its time guard of {self.seconds:g} s "
                                "(a last-resort bound: this part may differ on a faster machine)", file=file)

    def spend(self, units: int, file: str) -> None:
        """Count ``units`` of work; raise ``LimitExceeded`` once the work bound is passed."""
        self.spent += units
        if self.work is not None and self.spent > self.work:
            raise LimitExceeded(f"stage '{self.stage}' reached its work bound of {self.work:,} {self.unit}",
                                file=file)

    def out_of_work(self) -> bool:
        return self.work is not None and self.spent >= self.work


@dataclass(frozen=True)
class Options:
    """Knobs of one review; the defaults are documented in the README."""

    limits: Limits = field(default_factory=Limits)
    stage_seconds: float = 120.0
    """Time budget of each stage."""
    max_dex_size: int = 256 * 1024**2

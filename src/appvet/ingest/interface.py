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
    """The wall-clock guard of one stage; passes call ``check`` between units of work.

    It is a last resort: a stage that can grow with its input bounds its own work (``flows``
    counts instructions, methods and stored facts), so the same input gives the same report on a
    fast machine and on a busy one. When the guard trips, the Skip says so, and a reader knows
    that this part of the report may differ between runs.
    """

    stage: str
    seconds: float
    started: float

    @classmethod
    def start(cls, stage: str, seconds: float) -> Budget:
        return cls(stage, seconds, time.monotonic())

    def exceeded(self) -> bool:
        return time.monotonic() - self.started > self.seconds

    def check(self, file: str) -> None:
        """Raise ``LimitExceeded`` once the stage has run for more than ``seconds``."""
        if self.exceeded():
            raise LimitExceeded(f"stage '{self.stage}' ran past its time guard of {self.seconds:g} s "
                                "(a last-resort bound: this part may differ on a faster machine)", file=file)


@dataclass(frozen=True)
class Options:
    """Knobs of one review; the defaults are documented in the README."""

    limits: Limits = field(default_factory=Limits)
    stage_seconds: float = 120.0
    """Time budget of each stage."""
    max_dex_size: int = 256 * 1024**2

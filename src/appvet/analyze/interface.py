"""What the passes read: every format of one input, parsed once.

The readers in ``appvet.android`` know file formats only; ``facts.gather`` runs them over an
``InputPackage`` and the passes in this package answer questions about the result.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from appvet.android.arsc import ResourceTable
from appvet.android.dex import DexFile
from appvet.android.manifest import Manifest
from appvet.android.verify import SignatureProblem
from appvet.ingest.interface import InputPackage
from appvet.ingest.zipread import ZipTrick
from appvet.model import Certificate, Skip


@dataclass(frozen=True)
class DexUnit:
    path: str
    """Evidence path of the dex (``classes2.dex`` or ``split_x.apk!classes.dex``)."""
    dex: DexFile


@dataclass(frozen=True)
class NativeLib:
    path: str
    abi: str
    name: str
    strings: tuple[str, ...]


@dataclass(frozen=True)
class TextFile:
    path: str
    kind: str
    """``resource`` (resources.arsc string pool) or ``asset``."""
    strings: tuple[str, ...]


@dataclass
class AppFacts:
    package: InputPackage
    manifest: Manifest | None
    resources: ResourceTable | None
    dex: list[DexUnit] = field(default_factory=list)
    native: list[NativeLib] = field(default_factory=list)
    texts: list[TextFile] = field(default_factory=list)
    certificates: list[Certificate] = field(default_factory=list)
    """Signers whose signature verified, in Android's order of precedence (v3.1, v3, v2, v1)."""
    verified_schemes: tuple[str, ...] = ()
    signature_problems: list[SignatureProblem] = field(default_factory=list)
    """Signature files Android ignores or refuses (stray blocks, failed digests, stripped schemes)."""
    skips: list[Skip] = field(default_factory=list)
    oddities: list[str] = field(default_factory=list)
    zip_tricks: list[ZipTrick] = field(default_factory=list)
    """Entry-name and header tricks of every part, entry names prefixed as in evidence paths."""

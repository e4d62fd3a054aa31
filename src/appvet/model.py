"""The data model of a review: frozen dataclasses of plain types that serialise to JSON.

Every object a pass produces is one of these. Renderers only read them; the JSON report is
``to_json(review)``, with sorted keys, so the same input gives the same bytes.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
from dataclasses import dataclass, field
from typing import Any, Literal

SCHEMA_VERSION = "1.0"

Confidence = Literal["present", "reachable", "observed"]
CONFIDENCE_ORDER: dict[str, int] = {"present": 0, "reachable": 1, "observed": 2}

Severity = Literal["info", "low", "medium", "high", "critical"]

FIRST_PARTY = "first-party"


@dataclass(frozen=True)
class Source:
    """Where a knowledge-base fact was read, and when it was true."""

    url: str
    as_of: str
    """ISO date (YYYY-MM-DD) at which the source stated the fact."""


@dataclass(frozen=True)
class Evidence:
    """A pointer a person can check against the bytes of the input."""

    kind: str
    """One of: manifest, permission, dex, native, resource, asset, certificate, archive, kb."""
    file: str
    """Path of the file inside the input (``classes2.dex``, ``AndroidManifest.xml``, ``split_a.apk!lib/...``)."""
    locator: str
    """Where inside that file: a dex ``Lcom/x/Y;->m(I)V``, a manifest element path, a certificate field."""
    excerpt: str = ""
    """A short piece of the matched content, for a human to recognise."""


@dataclass(frozen=True)
class Certificate:
    """One signer certificate and the signature scheme(s) it was found in."""

    schemes: tuple[str, ...]
    """Signature schemes carrying this certificate: ``v1``, ``v2``, ``v3``."""
    subject: str
    issuer: str
    organisation: str | None
    """``O=`` of the subject."""
    country: str | None
    """``C=`` of the subject, as written (normally ISO 3166-1 alpha-2)."""
    serial: str
    not_before: str
    not_after: str
    sha256: str
    """SHA-256 of the DER certificate, lower-case hex."""


@dataclass(frozen=True)
class App:
    """Identity of what was reviewed."""

    file_name: str
    sha256: str
    size: int
    package: str | None
    version_code: str | None
    version_name: str | None
    min_sdk: str | None
    target_sdk: str | None
    label: str | None
    splits: tuple[str, ...]
    """Names of the APKs read from a bundle (the base first); ``()`` for a plain APK."""
    dex_files: tuple[str, ...]
    native_libs: tuple[str, ...]
    entries: int
    """Number of archive entries read across all APKs."""
    signers: tuple[Certificate, ...]


@dataclass(frozen=True)
class Component:
    kind: str
    """activity, activity-alias, service, receiver or provider."""
    name: str
    exported: bool | None
    """Explicit ``android:exported``; ``None`` when absent (then implied by intent filters)."""
    intent_actions: tuple[str, ...] = ()
    permission: str | None = None
    authorities: str | None = None


@dataclass(frozen=True)
class Permission:
    name: str
    max_sdk: int | None = None
    sdk23: bool = False
    """Declared with ``uses-permission-sdk-23``."""


@dataclass(frozen=True)
class ManifestSummary:
    permissions: tuple[Permission, ...]
    permissions_defined: tuple[str, ...]
    components: tuple[Component, ...]
    queries: tuple[str, ...]
    """Packages, intent actions and provider authorities named in ``<queries>``."""
    meta_data: tuple[tuple[str, str], ...]
    """(name, value) for every ``<meta-data>`` of the application."""
    debuggable: bool | None
    allow_backup: bool | None
    uses_cleartext_traffic: bool | None
    network_security_config: str | None


@dataclass(frozen=True)
class OwnerLink:
    """One step of an ownership chain, the SDK's direct owner first, the ultimate parent last."""

    entity: str
    name: str
    country: str | None
    """Country of headquarters (ISO 3166-1 alpha-2)."""
    share: float | None = None
    """Ownership share of the next link in this one, when known."""
    source: str | None = None


@dataclass(frozen=True)
class SdkHit:
    """An SDK found in the app, how it was recognised, and who controls it."""

    id: str
    name: str
    categories: tuple[str, ...]
    owner_chain: tuple[OwnerLink, ...]
    jurisdictions: tuple[str, ...]
    """Countries of every entity in the owner chain, sorted: the jurisdictions of control."""
    class_count: int
    """Number of classes defined under the SDK's package prefixes."""
    matched_by: tuple[str, ...]
    """Kinds of signature that matched: class-prefix, native-lib, meta-data, component."""
    evidence: tuple[Evidence, ...]
    sources: tuple[str, ...] = ()


@dataclass(frozen=True)
class Capability:
    """Code that can obtain a data category."""

    category: str
    holder: str
    """SDK id, or ``first-party`` for code not attributed to a known SDK."""
    holder_package: str
    """The package prefix of the code holding the capability."""
    apis: tuple[str, ...]
    """Sensitive APIs referenced (``Landroid/telephony/TelephonyManager;->getLine1Number``), sorted."""
    permissions: tuple[str, ...]
    """Declared permissions that grant the category (may be empty for permission-free APIs)."""
    confidence: Confidence
    evidence: tuple[Evidence, ...]


@dataclass(frozen=True)
class Endpoint:
    value: str
    """The URL, host or IP literal as found."""
    host: str
    kind: Literal["url", "host", "ip"]
    domain: str | None
    """Registrable domain (public-suffix aware)."""
    owner: str | None
    """KB entity id owning the domain."""
    owner_country: str | None
    holder: str | None
    """SDK id or ``first-party`` for a string found in dex code, else ``None``."""
    evidence: tuple[Evidence, ...]


@dataclass(frozen=True)
class Finding:
    rule: str
    severity: Severity
    title: str
    message: str
    confidence: Confidence
    evidence: tuple[Evidence, ...]
    category: str | None = None
    sdk: str | None = None
    entity: str | None = None
    fingerprint: str = ""


@dataclass(frozen=True)
class Skip:
    """A part of the input that could not be read; the review went on without it."""

    locator: str
    reason: str
    stage: str = ""


@dataclass(frozen=True)
class Verdict:
    decision: Literal["pass", "review", "fail"]
    policy: str
    reasons: tuple[str, ...]
    """Fingerprints of the findings that drove the decision."""


@dataclass(frozen=True)
class Review:
    schema_version: str
    app: App
    manifest: ManifestSummary | None
    sdks: tuple[SdkHit, ...]
    capabilities: tuple[Capability, ...]
    endpoints: tuple[Endpoint, ...]
    findings: tuple[Finding, ...]
    skips: tuple[Skip, ...]
    verdict: Verdict | None
    versions: dict[str, str]
    timings: dict[str, float] = field(default_factory=dict)
    """Seconds per stage. Excluded from ``to_json(..., deterministic=True)``."""


def fingerprint(*parts: str | None) -> str:
    """A stable id for a finding: same facts, same fingerprint, across runs and machines."""
    text = "\x1f".join(p or "" for p in parts)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:16]


def to_dict(obj: Any) -> Any:
    """Convert a model object to plain JSON types (tuples become lists)."""
    if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        return {f.name: to_dict(getattr(obj, f.name)) for f in dataclasses.fields(obj)}
    if isinstance(obj, (list, tuple)):
        return [to_dict(v) for v in obj]
    if isinstance(obj, dict):
        return {str(k): to_dict(v) for k, v in obj.items()}
    return obj


def to_json(review: Review, *, deterministic: bool = True) -> str:
    """Serialise a review; ``deterministic`` drops timings so equal inputs give equal bytes."""
    data = to_dict(review)
    if deterministic:
        data.pop("timings", None)
    return json.dumps(data, sort_keys=True, indent=2, ensure_ascii=False) + "\n"


def _tuples(cls: Any, data: Any) -> Any:
    """Rebuild a model object from ``to_dict`` output."""
    import typing

    hints = typing.get_type_hints(cls)
    kwargs = {}
    for f in dataclasses.fields(cls):
        if f.name not in data:
            continue
        kwargs[f.name] = _coerce(hints[f.name], data[f.name])
    return cls(**kwargs)


def _coerce(tp: Any, value: Any) -> Any:
    import types
    import typing

    if value is None:
        return None
    origin = typing.get_origin(tp)
    args = typing.get_args(tp)
    if origin in (typing.Union, types.UnionType):
        inner = [a for a in args if a is not type(None)]
        return _coerce(inner[0], value) if len(inner) == 1 else value
    if origin is tuple:
        if len(args) == 2 and args[1] is Ellipsis:
            return tuple(_coerce(args[0], v) for v in value)
        return tuple(_coerce(a, v) for a, v in zip(args, value, strict=False))
    if dataclasses.is_dataclass(tp):
        return _tuples(tp, value)
    return value


def from_dict(data: dict[str, Any]) -> Review:
    """Inverse of ``to_dict`` for a Review (used by diffs, the fleet store and tests)."""
    return _tuples(Review, data)

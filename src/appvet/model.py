"""The data model of a review: frozen dataclasses of plain types that serialise to JSON.

Every object a pass produces is one of these. Renderers only read them; the JSON report is
``to_json(review)``, with sorted keys, so the same input gives the same bytes.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

from appvet.ios.summary import IosSummary

if TYPE_CHECKING:
    from appvet.traffic.model import TrafficReport

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
    """One of: manifest, permission, dex, native, resource, asset, certificate, archive, kb; for iOS macho, plist."""
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
    """Signature schemes whose verified signature names this certificate: ``v1``, ``v2``, ``v3``, ``v3.1``."""
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
    developer: tuple[OwnerLink, ...] = ()
    """The organisation of the signer Android verifies first, matched to a KB entity, with its ownership
    chain; ``()`` when unknown or when no signature verified."""
    verified_schemes: tuple[str, ...] = ()
    """Signature schemes whose every signer verified (digests and signature), most preferred first."""
    platform: str = "android"
    """``android`` or ``ios``. For iOS, ``package`` is the bundle id, ``version_code``/``version_name`` are
    ``CFBundleVersion``/``CFBundleShortVersionString``, ``min_sdk``/``target_sdk`` the minimum and SDK iOS
    versions, and ``native_libs`` the Mach-O binaries read."""


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
    initialised: bool | None = None
    """Whether code of the SDK is reachable from an entry point (its own manifest components
    count: that is auto-initialisation); ``None`` when it has no code in the app or reachability
    was not computed."""
    witness: tuple[str, ...] = ()
    """For ``initialised``: one shortest path from an entry point to the SDK's first reached method."""
    owner_unknown: str | None = None
    """Why the knowledge base names no owner (its ``owner_unknown``); ``None`` when it names one."""


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
    witness: tuple[str, ...] = ()
    """For ``reachable``: one shortest call path, ``entry: <why>`` first, then each method down to
    the one that calls the sensitive API, which comes last."""
    holder_kind: str = "first-party"
    """``first-party``, ``sdk`` (a vendor SDK), ``library`` (an open-source library, held by its
    project) or ``manifest`` (a declared permission no code reference was found for)."""
    note: str = ""
    """Why the confidence is lower than the code alone suggests (a permission the app lacks)."""


@dataclass(frozen=True)
class Behaviour:
    """Something code can do that reviewers name as a risk in itself (enumerating apps, loading code)."""

    id: str
    """Stable id: ``installed-apps``, ``dynamic-code-loading``, ``sim-serial``, ..."""
    title: str
    holder: str
    """SDK id, or ``first-party``."""
    holder_package: str
    apis: tuple[str, ...]
    """APIs, classes or strings that show the behaviour, sorted."""
    confidence: Confidence
    evidence: tuple[Evidence, ...]
    witness: tuple[str, ...] = ()
    """As in ``Capability.witness``."""
    changes_after_review: bool = False
    """The behaviour lets the app run code or logic that was not in the reviewed APK."""


@dataclass(frozen=True)
class NativeMethod:
    """A Java method declared ``native`` and the library code that implements it, when found."""

    method: str
    """``Lcls;->name(proto)ret`` of the Java declaration."""
    library: str | None
    """Path of the ``.so`` inside the input, or ``None`` when no library could be tied to it."""
    binding: str
    """``export`` (a ``Java_...`` symbol names it), ``JNI_OnLoad`` (no export; the library the class
    loads registers natives at load time) or ``unresolved``."""
    symbol: str | None
    confidence: Confidence
    """``reachable`` when the Java method is called on a path from an entry point."""
    witness: tuple[str, ...] = ()


@dataclass(frozen=True)
class FlowStep:
    """One method on the way from a source of personal data to where it leaves the device."""

    method: str
    """``Lcls;->name(proto)ret``."""
    holder: str
    """SDK id, or ``first-party``, owning the method."""
    role: str
    """``source`` (calls the sensitive API), ``via`` (passes the value on) or ``sink`` (calls the sink API)."""


@dataclass(frozen=True)
class CodeFlow:
    """A path in code along which a value from a sensitive API reaches an API that sends it off the device.

    Found by following registers inside methods and summaries across calls; it is a path that
    exists in the code, not an observed transfer (that is a traffic ``Flow``).
    """

    category: str
    source: str
    """The sensitive API (``Landroid/telephony/TelephonyManager;->getLine1Number``)."""
    sink: str
    """The API the value is passed to (``Lokhttp3/Request$Builder;->url``)."""
    sink_kind: str
    """network, sms, webview, ipc, storage or log."""
    steps: tuple[FlowStep, ...]
    confidence: Confidence
    """``reachable`` when the first method is on a call path from an entry point, else ``present``."""
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
    confidence: Confidence = "present"
    """``observed`` when a capture shows the app talking to this host."""


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
    """Stable key of this finding, unique within a review; waivers and baselines name findings by it."""
    holder: str | None = None
    """Who holds the code the finding is about: an SDK id, a library id, ``first-party``; ``None``
    when it is about the app as a whole (its manifest, archive or signature)."""
    holder_kind: str = "app"
    """``first-party``, ``sdk``, ``library`` or ``app``."""


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
class BanHit:
    """A government ban or restriction list naming the app, with its status on the review date."""

    list: str
    """KB ban-list id."""
    name: str
    jurisdiction: str
    authority: str
    instrument: str
    date: str
    status: str
    """On the review date, computed from the list's dated events: ``not-yet-issued``, ``not-yet-effective``,
    ``in-force``, ``enforcement-delayed``, ``enjoined``, ``revoked``, ``expired``, ``lifted`` or ``divested``."""
    revoked: str | None
    revoked_by: str | None
    matched_by: str
    """``package`` (exact package name), ``name`` (the list gives only a name) or ``controller``."""
    listed_as: str
    complete: bool
    """False when the list as published is only partly known."""
    sources: tuple[str, ...]
    scope: str = ""
    """What the list restricts: ``blocking``, ``transactions``, ``distribution`` or ``government-devices``."""
    devices: str = "all"
    """``all``, or ``government`` when only devices of the issuing government or institution are covered."""
    in_force: bool = False
    """True for ``in-force`` and ``enforcement-delayed`` (law on the day, enforcement paused)."""
    status_since: str | None = None
    """Date of the event that set ``status``."""
    status_by: str | None = None
    """The instrument or decision of that event (an executive order, a court order, a divestiture)."""


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
    behaviours: tuple[Behaviour, ...] = ()
    code_flows: tuple[CodeFlow, ...] = ()
    native_methods: tuple[NativeMethod, ...] = ()
    bans: tuple[BanHit, ...] = ()
    traffic: TrafficReport | None = None
    """Flows read from captures given with ``--traffic``, joined with this review."""
    review_date: str = ""
    """The date (ISO) at which ownership chains and ban-list status were evaluated."""
    timings: dict[str, float] = field(default_factory=dict)
    """Seconds per stage. Excluded from ``to_json(..., deterministic=True)``."""
    libraries: tuple[SdkHit, ...] = ()
    """Open-source libraries found (AndroidX, OkHttp, osmdroid, ...), held by their projects; not SDKs."""

    ios: IosSummary | None = None
    """Info.plist, privacy manifests, entitlements and binaries of an iOS app; ``None`` for Android."""


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

    _resolve_late_types()

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


def _resolve_late_types() -> None:
    # The traffic stage's value types are part of a Review; they are imported on first use because
    # the traffic package itself builds on this module.
    from appvet.traffic.model import TrafficReport

    globals()["TrafficReport"] = TrafficReport


def from_dict(data: dict[str, Any]) -> Review:
    """Inverse of ``to_dict`` for a Review (used by diffs, the fleet store and tests)."""
    return _tuples(Review, data)

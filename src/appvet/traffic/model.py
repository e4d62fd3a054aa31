"""Value types of the traffic stage: what was read from a capture and what was found in it.

``Request`` and ``Connection`` are what readers yield; they carry raw bytes and stay inside the
stage. Everything a report shows (``Flow``, ``Hit``, ``Destination``, ``TrafficReport``) is a frozen
dataclass of plain types, so ``appvet.model.to_dict`` turns it into JSON.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

MatchKind = Literal["profile", "pattern"]


@dataclass(frozen=True)
class Request:
    """One HTTP request as the client sent it, body still content-encoded."""

    index: int
    """Position of the request in its capture (0-based), the anchor of every piece of evidence."""
    source: str
    """File name of the capture."""
    method: str
    url: str
    host: str
    """Host the request was addressed to (Host header, authority or SNI), lower case, no port."""
    ip: str | None
    port: int | None
    time: float | None
    """Seconds since the epoch at which the request started, when the capture records it."""
    headers: tuple[tuple[str, str], ...]
    body: bytes = b""
    body_truncated: bool = False
    """The body was longer than the reader's per-request cap; only its start is kept."""


@dataclass(frozen=True)
class Connection:
    """A connection seen without a readable HTTP request (TLS, or DNS only): who, not what."""

    index: int
    source: str
    host: str | None
    """TLS SNI, or a DNS name that resolved to ``ip`` earlier in the capture."""
    ip: str | None
    port: int | None
    time: float | None
    protocol: str
    """``tls``, ``tcp`` or ``dns``."""


@dataclass(frozen=True)
class CaptureNote:
    """Something in a capture that was not read (a truncated last record, an unsupported link type)."""

    source: str
    locator: str
    reason: str


@dataclass(frozen=True)
class Hit:
    """A piece of personal data found in one request."""

    category: str
    """appvet data category id: ``phone_number``, ``device_identifiers``, ``precise_location`` ..."""
    kind: str
    """Which value: ``imei``, ``android_id``, ``advertising_id``, ``phone_number``, ``wifi_mac``, ..."""
    matched: MatchKind
    """``profile``: equals a value of the device profile (or a hash of it); ``pattern``: has the shape
    of such a value (Luhn-valid IMEI, valid phone number ...) but no profile says it is this device's."""
    location: str
    """Where in the request: ``query:imei``, ``header:x-device``, ``body`` then nested steps such as
    ``json:$.dev.ids[0]``, ``form:ph``, ``pb:2.1``, joined with ``/``."""
    encoding: tuple[str, ...]
    """Decoding steps from the bytes on the wire to the value, outermost first: ``gzip``, ``json``,
    ``url``, ``base64``, ``base64url``, ``hex``, ``form``, ``protobuf``, then ``md5``/``sha1``/``sha256``
    when a digest of the value was sent, and a normalisation such as ``e164`` or ``upper``."""
    excerpt: str
    """The matched text, redacted unless values were asked for."""
    value_id: str
    """First 12 hex digits of SHA-256 of the normalised value: equal values, equal ids, nothing revealed."""


@dataclass(frozen=True)
class Destination:
    """Who received a flow and where that party and its server are."""

    host: str | None
    ip: str | None
    domain: str | None
    """Registrable domain of the host."""
    entity: str | None
    """KB entity owning the domain."""
    owner_chain: tuple[str, ...]
    """Entity ids, the owner first, the ultimate parent last."""
    owner_country: str | None
    """Country of headquarters of the ultimate parent."""
    jurisdictions: tuple[str, ...]
    ip_country: str | None
    """Country in which the IP block is registered (RIR delegation data)."""
    hosting_country: str | None = None
    """Country of the address in a user-supplied GeoIP database."""
    asn: int | None = None
    as_org: str | None = None
    operator: str | None = None
    """Cloud or CDN operator whose published ranges hold the IP (``aws``, ``cloudflare`` ...)."""
    country_note: str | None = None
    """Why a country may not be the recipient's: a CDN edge or a cloud region hosts the IP."""


@dataclass(frozen=True)
class Flow:
    """One observed request or connection, with its recipient and the personal data found in it."""

    index: int
    source: str
    protocol: str
    """``http``, ``https`` (decrypted capture), ``tls`` (SNI only), ``tcp`` or ``dns``."""
    method: str | None
    url: str | None
    """The URL with every query value that carried a hit redacted."""
    port: int | None
    time: float | None
    destination: Destination
    hits: tuple[Hit, ...] = ()
    sdks: tuple[str, ...] = ()
    """SDK ids of the app linked to this flow by host (KB endpoint lists or strings in the SDK's code)."""


@dataclass(frozen=True)
class Observation:
    """A (category, holder) pair seen leaving the device: the evidence to upgrade a capability."""

    category: str
    holder: str
    """SDK id, or ``first-party`` when the host is one of the app's own endpoints."""
    flows: tuple[int, ...]
    """Indexes of the flows (in ``TrafficReport.flows``) that carried it."""


@dataclass(frozen=True)
class TrafficReport:
    flows: tuple[Flow, ...]
    unexpected: tuple[str, ...]
    """Hosts contacted that no endpoint of the app names and no SDK of the app lists, sorted."""
    unseen_endpoints: tuple[str, ...]
    """Hosts of static endpoints that no flow reached, sorted."""
    observed_endpoints: tuple[str, ...]
    """Hosts of static endpoints that flows reached, sorted."""
    observations: tuple[Observation, ...]
    notes: tuple[CaptureNote, ...] = ()
    sources: tuple[str, ...] = field(default=())
    """Capture files read, in order."""

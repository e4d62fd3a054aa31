"""What an iOS review reports beside the common model: the facts a reviewer of an IPA asks for."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class UsageDescription:
    """One ``NS*UsageDescription`` of Info.plist: the developer's own words for why the app asks."""

    key: str
    text: str
    categories: tuple[str, ...]
    """appvet data categories the permission behind the key grants; ``()`` when none is catalogued."""


@dataclass(frozen=True)
class DeclaredDataType:
    type: str
    """``NSPrivacyCollectedDataType...``."""
    categories: tuple[str, ...]
    linked: bool | None
    tracking: bool | None
    purposes: tuple[str, ...]


@dataclass(frozen=True)
class PrivacyManifestSummary:
    path: str
    owner: str
    """``app`` or the framework / resource bundle that ships the manifest."""
    sdk: str | None
    """The SDK the owner was recognised as, when it was."""
    tracking: bool | None
    tracking_domains: tuple[str, ...]
    collected: tuple[DeclaredDataType, ...]
    accessed_apis: tuple[str, ...]
    """``NSPrivacyAccessedAPIType: reason, reason``."""


@dataclass(frozen=True)
class BinaryImage:
    path: str
    kind: str
    """``main``, ``appex``, ``framework`` or ``dylib``."""
    owner: str
    arch: str
    """The architecture read; for a fat file, the slice chosen."""
    slices: tuple[str, ...]
    """All architectures of a fat file; ``()`` for a thin one."""
    encrypted: bool
    min_os: str | None
    libraries: tuple[str, ...]
    """Linked dylibs and frameworks (install names), in load order."""
    objc_classes: int
    objc_selectors: int
    swift_types: int
    team_id: str | None
    """Team identifier of this binary's own code signature."""
    signing_id: str | None


@dataclass(frozen=True)
class ProvisionSummary:
    name: str | None
    team_ids: tuple[str, ...]
    team_name: str | None
    app_id_name: str | None
    expires: str | None
    devices: int
    all_devices: bool
    """An enterprise (in-house) profile: the app installs on any device, outside the App Store."""


@dataclass(frozen=True)
class IosSummary:
    bundle_id: str | None
    executable: str | None
    min_os: str | None
    url_schemes: tuple[str, ...]
    queried_schemes: tuple[str, ...]
    """``LSApplicationQueriesSchemes``: schemes the app may probe with ``canOpenURL:`` to learn which apps are
    installed."""
    background_modes: tuple[str, ...]
    ats_arbitrary_loads: bool
    ats_insecure_domains: tuple[str, ...]
    usage: tuple[UsageDescription, ...]
    privacy_manifests: tuple[PrivacyManifestSummary, ...]
    entitlements: tuple[tuple[str, str], ...]
    """(key, JSON value) of the main executable's signed entitlements."""
    team_id: str | None
    signing_id: str | None
    provision: ProvisionSummary | None
    binaries: tuple[BinaryImage, ...]
    frameworks: tuple[str, ...]
    """Embedded frameworks and extensions by folder (``Frameworks/BUAdSDK.framework``)."""

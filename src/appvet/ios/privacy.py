"""Privacy manifests (``PrivacyInfo.xcprivacy``): what the app or an SDK declares it collects and why."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from appvet.ios.plist import strings, text


@dataclass(frozen=True)
class CollectedType:
    type: str
    linked: bool | None
    tracking: bool | None
    purposes: tuple[str, ...]


@dataclass(frozen=True)
class AccessedApi:
    type: str
    reasons: tuple[str, ...]


@dataclass
class PrivacyManifest:
    path: str
    """Path inside the bundle (``Frameworks/X.framework/PrivacyInfo.xcprivacy``)."""
    owner: str
    """``app``, or the name of the framework or resource bundle that ships it."""
    tracking: bool | None
    tracking_domains: list[str] = field(default_factory=list)
    collected: list[CollectedType] = field(default_factory=list)
    accessed_apis: list[AccessedApi] = field(default_factory=list)


def read_privacy(p: dict[str, Any], path: str, owner: str) -> PrivacyManifest:
    collected = []
    for item in p.get("NSPrivacyCollectedDataTypes") or []:
        if isinstance(item, dict) and (t := text(item.get("NSPrivacyCollectedDataType"))):
            linked = item.get("NSPrivacyCollectedDataTypeLinked")
            tracking = item.get("NSPrivacyCollectedDataTypeTracking")
            collected.append(CollectedType(
                t, linked if isinstance(linked, bool) else None, tracking if isinstance(tracking, bool) else None,
                tuple(strings(item.get("NSPrivacyCollectedDataTypePurposes")))))
    apis = []
    for item in p.get("NSPrivacyAccessedAPITypes") or []:
        if isinstance(item, dict) and (t := text(item.get("NSPrivacyAccessedAPIType"))):
            apis.append(AccessedApi(t, tuple(strings(item.get("NSPrivacyAccessedAPITypeReasons")))))
    tracking = p.get("NSPrivacyTracking")
    return PrivacyManifest(path, owner, tracking if isinstance(tracking, bool) else None,
                           strings(p.get("NSPrivacyTrackingDomains")), collected, apis)

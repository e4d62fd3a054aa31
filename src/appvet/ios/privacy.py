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
    for item in _dicts(p.get("NSPrivacyCollectedDataTypes")):
        if (t := text(item.get("NSPrivacyCollectedDataType"))):
            linked = item.get("NSPrivacyCollectedDataTypeLinked")
            tracking = item.get("NSPrivacyCollectedDataTypeTracking")
            collected.append(CollectedType(
                t, linked if isinstance(linked, bool) else None, tracking if isinstance(tracking, bool) else None,
                tuple(strings(item.get("NSPrivacyCollectedDataTypePurposes")))))
    apis = []
    for item in _dicts(p.get("NSPrivacyAccessedAPITypes")):
        if (t := text(item.get("NSPrivacyAccessedAPIType"))):
            apis.append(AccessedApi(t, tuple(strings(item.get("NSPrivacyAccessedAPITypeReasons")))))
    tracking = p.get("NSPrivacyTracking")
    return PrivacyManifest(path, owner, tracking if isinstance(tracking, bool) else None,
                           strings(p.get("NSPrivacyTrackingDomains")), collected, apis)


def _dicts(value: Any) -> list[dict[str, Any]]:
    """The dictionaries of a list; nothing for a value of any other type (a malformed manifest may hold one)."""
    return [v for v in value if isinstance(v, dict)] if isinstance(value, list) else []

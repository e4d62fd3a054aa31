"""What ``Info.plist`` says about the app: identity, URL schemes, probes, background modes, ATS, usage texts."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from appvet.ios.plist import strings, text


@dataclass(frozen=True)
class AtsException:
    domain: str
    insecure_http: bool
    subdomains: bool


@dataclass
class InfoPlist:
    bundle_id: str | None
    name: str | None
    display_name: str | None
    executable: str | None
    version: str | None
    """``CFBundleVersion`` (the build number)."""
    short_version: str | None
    min_os: str | None
    sdk: str | None
    url_schemes: list[str] = field(default_factory=list)
    queried_schemes: list[str] = field(default_factory=list)
    background_modes: list[str] = field(default_factory=list)
    ats_arbitrary_loads: bool = False
    ats_arbitrary_loads_in_web: bool = False
    ats_exceptions: list[AtsException] = field(default_factory=list)
    usage: dict[str, str] = field(default_factory=dict)
    """Every ``NS*UsageDescription`` key with the developer's text."""
    extension_point: str | None = None
    """``NSExtension/NSExtensionPointIdentifier`` of an app extension."""


def read_info(p: dict[str, Any]) -> InfoPlist:
    schemes: list[str] = []
    types = p.get("CFBundleURLTypes")
    for t in types if isinstance(types, list) else []:
        if isinstance(t, dict):
            schemes.extend(strings(t.get("CFBundleURLSchemes")))
    ats = p.get("NSAppTransportSecurity")
    ats = ats if isinstance(ats, dict) else {}
    exceptions = []
    domains = ats.get("NSExceptionDomains")
    for domain, spec in sorted(domains.items()) if isinstance(domains, dict) else []:
        if isinstance(spec, dict):
            insecure = spec.get("NSExceptionAllowsInsecureHTTPLoads") is True or \
                spec.get("NSTemporaryExceptionAllowsInsecureHTTPLoads") is True
            exceptions.append(AtsException(str(domain), insecure, spec.get("NSIncludesSubdomains") is True))
    ext = p.get("NSExtension")
    usage = {k: v for k, v in p.items() if isinstance(k, str) and k.endswith("UsageDescription") and isinstance(v, str)}
    return InfoPlist(
        bundle_id=text(p.get("CFBundleIdentifier")),
        name=text(p.get("CFBundleName")),
        display_name=text(p.get("CFBundleDisplayName")),
        executable=text(p.get("CFBundleExecutable")),
        version=text(p.get("CFBundleVersion")),
        short_version=text(p.get("CFBundleShortVersionString")),
        min_os=text(p.get("MinimumOSVersion")),
        sdk=text(p.get("DTPlatformVersion")) or text(p.get("DTSDKName")),
        url_schemes=list(dict.fromkeys(schemes)),
        queried_schemes=list(dict.fromkeys(strings(p.get("LSApplicationQueriesSchemes")))),
        background_modes=strings(p.get("UIBackgroundModes")),
        ats_arbitrary_loads=ats.get("NSAllowsArbitraryLoads") is True,
        ats_arbitrary_loads_in_web=ats.get("NSAllowsArbitraryLoadsInWebContent") is True,
        ats_exceptions=exceptions,
        usage=dict(sorted(usage.items())),
        extension_point=text(ext.get("NSExtensionPointIdentifier")) if isinstance(ext, dict) else None,
    )

"""The manifest model: what ``AndroidManifest.xml`` declares, read the way the package manager reads it.

Only the elements Android itself honours are read: ``<uses-permission>`` and friends as direct
children of ``<manifest>``, the first ``<application>`` and the components directly inside it.
Relative component names are completed against the package as ``PackageParser.buildClassName``
does. Values that are resource references are resolved through a ``ResourceTable`` when one is
given, and kept as ``'@0x7f...'`` text otherwise, so nothing is silently dropped.

Every fact keeps a locator (``manifest/application/service[@android:name="..."]``) and its
element, for evidence a person can find again in the text rendering of the manifest.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from appvet.android.arsc import ResourceTable
from appvet.android.axml import AttrValue, XmlElement, parse_axml, to_xml
from appvet.errors import FormatError
from appvet.model import Component, ManifestSummary, Permission

COMPONENT_TAGS = ("activity", "activity-alias", "service", "receiver", "provider")
PERMISSION_TAGS = ("uses-permission", "uses-permission-sdk-23", "uses-permission-sdk-m")


@dataclass(frozen=True)
class Manifest:
    """Identity and summary of one manifest."""

    package: str | None
    version_code: str | None
    """The long version code (``versionCodeMajor << 32 | versionCode``) in decimal."""
    version_name: str | None
    min_sdk: str | None
    """As declared: an API level (``'21'``) or a codename (``'Tiramisu'``)."""
    target_sdk: str | None
    """As declared, or ``min_sdk`` when absent, as Android defaults it."""
    label: str | None
    """Application label, resolved through the resource table; ``'@0x...'`` if it cannot be."""
    summary: ManifestSummary
    element_paths: Mapping[str, str] = field(default_factory=dict, compare=False, hash=False, repr=False)
    """Locator of each element by key ``'<tag>:<name>'`` (``'service:com.x.PushService'``,
    ``'uses-permission:android.permission.CAMERA'``, ``'application:'``); see ``locate``."""
    elements: Mapping[str, XmlElement] = field(default_factory=dict, compare=False, hash=False, repr=False)
    """The element behind each key of ``element_paths``."""

    def locate(self, tag: str, name: str = "") -> str:
        """Locator for an element (``'service'``, ``'com.x.PushService'``); ``'manifest'`` if unknown."""
        return self.element_paths.get(f"{tag}:{name}", "manifest")

    def excerpt(self, tag: str, name: str = "", limit: int = 300) -> str:
        """The element as one line of text XML (its start tag), cut to ``limit`` characters."""
        element = self.elements.get(f"{tag}:{name}")
        if element is None:
            return ""
        head = XmlElement(element.tag, dict(element.attrs), [], element.line)
        text = to_xml(head).strip().replace(' xmlns:android="http://schemas.android.com/apk/res/android"', "")
        return text if len(text) <= limit else text[: limit - 1] + "…"


def read_manifest(
    data: bytes, name: str = "AndroidManifest.xml", resources: ResourceTable | None = None
) -> Manifest:
    """Read a binary manifest; ``FormatError`` if it is unreadable or its root is not ``<manifest>``."""
    root = parse_axml(data, name)
    if root.tag != "manifest":
        raise FormatError(f"root element is <{root.tag}>, not <manifest>", file=name)
    return manifest_from_tree(root, resources)


def manifest_from_tree(root: XmlElement, resources: ResourceTable | None = None) -> Manifest:
    """Build the model from a parsed ``<manifest>`` tree."""
    values = _Values(resources)
    paths = _Paths()
    paths.add("manifest", "", "manifest", root)
    package = values.text(root.attrs.get("package")) or None

    uses_sdk = next(iter(root.find_all("uses-sdk")), None)
    min_sdk = target_sdk = None
    if uses_sdk is not None:
        paths.add("uses-sdk", "", "manifest/uses-sdk", uses_sdk)
        min_sdk = values.text(uses_sdk.attrs.get("android:minSdkVersion"))
        target_sdk = values.text(uses_sdk.attrs.get("android:targetSdkVersion")) or min_sdk

    applications = root.find_all("application")
    application = applications[0] if applications else None
    label = None
    if application is not None:
        paths.add("application", "", "manifest/application", application)
        label = values.text(application.attrs.get("android:label"))

    summary = ManifestSummary(
        permissions=_permissions(root, values, paths),
        permissions_defined=_permissions_defined(root, values, paths),
        components=_components(application, package, values, paths),
        queries=_queries(root, values, paths),
        meta_data=_meta_data(application, values, paths),
        debuggable=values.flag(application, "android:debuggable"),
        allow_backup=values.flag(application, "android:allowBackup"),
        uses_cleartext_traffic=values.flag(application, "android:usesCleartextTraffic"),
        network_security_config=(
            values.text(application.attrs.get("android:networkSecurityConfig")) if application else None
        ),
    )
    return Manifest(
        package=package,
        version_code=_version_code(root, values),
        version_name=values.text(root.attrs.get("android:versionName")),
        min_sdk=min_sdk,
        target_sdk=target_sdk,
        label=label,
        summary=summary,
        element_paths=paths.paths,
        elements=paths.elements,
    )


def class_name(package: str | None, name: str) -> str:
    """Complete a component name as ``PackageParser.buildClassName`` does."""
    if not package:
        return name
    if name.startswith("."):
        return package + name
    if "." not in name:
        return f"{package}.{name}"
    return name


class _Values:
    """Attribute values as text, booleans and integers, references resolved when possible."""

    def __init__(self, resources: ResourceTable | None) -> None:
        self.resources = resources

    def _deref(self, value: AttrValue) -> AttrValue:
        if isinstance(value, str) and value.startswith("@0x") and self.resources is not None:
            try:
                resolved = self.resources.resolve(int(value[3:], 16))
            except ValueError:
                return value
            return value if resolved is None else resolved
        return value

    def text(self, value: AttrValue) -> str | None:
        value = self._deref(value)
        if value is None:
            return None
        if isinstance(value, bool):
            return "true" if value else "false"
        return str(value)

    def boolean(self, value: AttrValue) -> bool | None:
        value = self._deref(value)
        if value is None or isinstance(value, bool):
            return value
        if isinstance(value, int):
            return value != 0
        lowered = value.strip().lower()
        if lowered == "true":
            return True
        if lowered == "false":
            return False
        number = _to_int(lowered)
        return None if number is None else number != 0

    def integer(self, value: AttrValue) -> int | None:
        value = self._deref(value)
        if isinstance(value, bool) or value is None:
            return None
        return value if isinstance(value, int) else _to_int(value)

    def flag(self, element: XmlElement | None, key: str) -> bool | None:
        return None if element is None else self.boolean(element.attrs.get(key))


def _to_int(text: str) -> int | None:
    try:
        return int(text.strip(), 0)
    except ValueError:
        return None


class _Paths:
    """Locators and elements by key; the first element with a key keeps it."""

    def __init__(self) -> None:
        self.paths: dict[str, str] = {}
        self.elements: dict[str, XmlElement] = {}

    def add(self, tag: str, name: str, path: str, element: XmlElement) -> None:
        key = f"{tag}:{name}"
        if key not in self.paths:
            self.paths[key] = path
            self.elements[key] = element


def _selector(path: str, tag: str, attr: str, value: AttrValue) -> str:
    if value is None:
        return f"{path}/{tag}"
    shown = str(value).replace('"', "&quot;")
    return f'{path}/{tag}[@{attr}="{shown}"]'


def _unique(items: Iterable[str]) -> tuple[str, ...]:
    return tuple(dict.fromkeys(items))


def _version_code(root: XmlElement, values: _Values) -> str | None:
    raw = root.attrs.get("android:versionCode")
    code = values.integer(raw)
    if code is None:
        return values.text(raw)
    major = values.integer(root.attrs.get("android:versionCodeMajor")) or 0
    return str(((major & 0xFFFFFFFF) << 32) | (code & 0xFFFFFFFF))


def _permissions(root: XmlElement, values: _Values, paths: _Paths) -> tuple[Permission, ...]:
    found: dict[Permission, None] = {}
    for child in root.children:
        if child.tag not in PERMISSION_TAGS:
            continue
        raw = child.attrs.get("android:name")
        name = values.text(raw)
        if not name:
            continue
        permission = Permission(
            name=name,
            max_sdk=values.integer(child.attrs.get("android:maxSdkVersion")),
            sdk23=child.tag != "uses-permission",
        )
        found.setdefault(permission)
        paths.add(child.tag, name, _selector("manifest", child.tag, "android:name", raw), child)
    return tuple(found)


def _permissions_defined(root: XmlElement, values: _Values, paths: _Paths) -> tuple[str, ...]:
    names = []
    for child in root.find_all("permission"):
        raw = child.attrs.get("android:name")
        name = values.text(raw)
        if name:
            names.append(name)
            paths.add("permission", name, _selector("manifest", "permission", "android:name", raw), child)
    return _unique(names)


def _intent_actions(element: XmlElement, values: _Values) -> tuple[str, ...]:
    actions = (
        values.text(action.attrs.get("android:name"))
        for intent_filter in element.find_all("intent-filter")
        for action in intent_filter.find_all("action")
    )
    return _unique(a for a in actions if a)


def _components(
    application: XmlElement | None, package: str | None, values: _Values, paths: _Paths
) -> tuple[Component, ...]:
    if application is None:
        return ()
    components = []
    for child in application.children:
        if child.tag not in COMPONENT_TAGS:
            continue
        raw = child.attrs.get("android:name")
        written = values.text(raw)
        if not written:
            continue  # Android refuses a nameless component
        name = class_name(package, written)
        components.append(
            Component(
                kind=child.tag,
                name=name,
                exported=values.boolean(child.attrs.get("android:exported")),
                intent_actions=_intent_actions(child, values),
                permission=values.text(child.attrs.get("android:permission")),
                authorities=(
                    values.text(child.attrs.get("android:authorities")) if child.tag == "provider" else None
                ),
            )
        )
        path = _selector("manifest/application", child.tag, "android:name", raw)
        paths.add(child.tag, name, path, child)
    return tuple(components)


def _queries(root: XmlElement, values: _Values, paths: _Paths) -> tuple[str, ...]:
    found: list[str] = []

    def note(value: str | None, path: str, element: XmlElement) -> None:
        if value:
            found.append(value)
            paths.add("queries", value, path, element)

    for queries in root.find_all("queries"):
        for child in queries.children:
            if child.tag == "package":
                raw = child.attrs.get("android:name")
                note(values.text(raw), _selector("manifest/queries", "package", "android:name", raw), child)
            elif child.tag == "intent":
                for action in child.find_all("action"):
                    raw = action.attrs.get("android:name")
                    path = _selector("manifest/queries/intent", "action", "android:name", raw)
                    note(values.text(raw), path, action)
            elif child.tag == "provider":
                raw = child.attrs.get("android:authorities")
                path = _selector("manifest/queries", "provider", "android:authorities", raw)
                for authority in (values.text(raw) or "").split(";"):
                    note(authority.strip(), path, child)
    return _unique(found)


def _meta_data(application: XmlElement | None, values: _Values, paths: _Paths) -> tuple[tuple[str, str], ...]:
    if application is None:
        return ()
    pairs = []
    for child in application.find_all("meta-data"):
        raw = child.attrs.get("android:name")
        name = values.text(raw)
        if not name:
            continue
        if "android:value" in child.attrs:
            value = values.text(child.attrs["android:value"])
        else:
            value = values.text(child.attrs.get("android:resource"))
        pairs.append((name, value or ""))
        paths.add("meta-data", name, _selector("manifest/application", "meta-data", "android:name", raw), child)
    return tuple(pairs)

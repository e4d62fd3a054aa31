"""appvet: what personal data a mobile app can take, who inside it can take it, where it can send it.

    >>> import appvet
    >>> result = appvet.review("app.apk")          # doctest: +SKIP
    >>> [s.name for s in result.sdks]              # doctest: +SKIP
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

__all__ = ["AppvetError", "Review", "__version__", "load_kb", "review", "to_json"]

if TYPE_CHECKING:
    from appvet.errors import AppvetError
    from appvet.kb import load_kb
    from appvet.model import Review, to_json
    from appvet.review import review


def __getattr__(name: str) -> Any:
    # Imported on first use so that `appvet --help` and `import appvet` stay fast.
    if name == "review":
        from appvet.review import review

        return review
    if name == "load_kb":
        from appvet.kb import load_kb

        return load_kb
    if name in ("Review", "to_json"):
        from appvet import model

        return getattr(model, name)
    if name == "AppvetError":
        from appvet.errors import AppvetError

        return AppvetError
    raise AttributeError(f"module 'appvet' has no attribute {name!r}")

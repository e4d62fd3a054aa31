"""appvet: what personal data a mobile app can take, who inside it can take it, where it can send it."""

__version__ = "0.1.0"

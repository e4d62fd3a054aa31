"""Keep the knowledge-base cache of every test inside its own temporary directory."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from appvet.kb import loader


@pytest.fixture(autouse=True)
def _isolated_cache(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    cache = tmp_path_factory.mktemp("kbcache")
    monkeypatch.setenv("APPVET_CACHE_DIR", str(cache))
    monkeypatch.delenv("APPVET_KB_CACHE", raising=False)
    yield cache
    loader._memo.clear()

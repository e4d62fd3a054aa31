"""Uploaded files, stored by content: ``<root>/<sha256>``.

No path is ever built from what a client sent: the name on disk is the SHA-256 of the bytes,
computed while they stream in, and the upload is written to a temporary file made by ``mkstemp``
in the same directory, then renamed. The size limit is enforced as bytes arrive, so an oversized
upload costs at most the limit in disk and one chunk in memory.
"""

from __future__ import annotations

import hashlib
import os
import re
import tempfile
from collections.abc import AsyncIterator
from pathlib import Path
from typing import BinaryIO

import anyio

from appvet.errors import LimitExceeded

SHA256_RE = re.compile(r"^[0-9a-f]{64}$")
BATCH = 1024 * 1024


class BlobStore:
    def __init__(self, root: Path) -> None:
        self.root = root
        self.root.mkdir(parents=True, exist_ok=True, mode=0o700)

    def path(self, sha256: str) -> Path:
        """Where the blob with this digest lives; ``ValueError`` unless ``sha256`` is 64 hex digits."""
        if not SHA256_RE.match(sha256):
            raise ValueError("not a sha256")
        return self.root / sha256

    def exists(self, sha256: str) -> bool:
        return SHA256_RE.match(sha256) is not None and self.path(sha256).is_file()

    async def save(self, chunks: AsyncIterator[bytes], limit: int) -> tuple[str, int]:
        """Write the stream to the store; (sha256, size). ``LimitExceeded`` past ``limit`` bytes.

        Hashing and writing happen in a worker thread, a batch at a time, so that a large upload never
        holds the event loop that serves everyone else.
        """
        fd, tmp = tempfile.mkstemp(dir=self.root, prefix=".upload-")
        digest = hashlib.sha256()
        size = 0
        batch: list[bytes] = []
        pending = 0

        def flush(out: BinaryIO, parts: list[bytes]) -> None:
            for part in parts:
                digest.update(part)
                out.write(part)

        try:
            with os.fdopen(fd, "wb") as out:
                async for chunk in chunks:
                    size += len(chunk)
                    if size > limit:
                        raise LimitExceeded(f"upload larger than {limit} bytes")
                    batch.append(chunk)
                    pending += len(chunk)
                    if pending >= BATCH:
                        parts, batch, pending = batch, [], 0
                        await anyio.to_thread.run_sync(flush, out, parts)
                await anyio.to_thread.run_sync(flush, out, batch)
            sha = digest.hexdigest()
            await anyio.to_thread.run_sync(os.replace, tmp, self.path(sha))
            return sha, size
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise

    def sweep(self) -> int:
        """Remove temporary files left by uploads cut short (a crash between write and rename)."""
        removed = 0
        for p in self.root.glob(".upload-*"):
            p.unlink(missing_ok=True)
            removed += 1
        return removed

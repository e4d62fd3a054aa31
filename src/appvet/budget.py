"""Budgets a review runs under: a memory ceiling for the process and time budgets per stage.

Time: every stage gets ``Options.stage_seconds`` (a ``Budget``); passes check it between units of
work. Essential stages (reading the manifest and the DEX code) abort the review with exit 2
when they run past it, because a review without them says nothing. Non-essential stages
(reachability, data flows, endpoints, behaviours, native libraries, assets) are cut instead: the
review goes on and carries a ``Skip`` naming the stage and the limit, so the reader knows which
answer is incomplete. ``--strict`` turns any Skip into exit 3.

Memory: ``set_memory_limit`` caps the address space of the whole process (``RLIMIT_AS``); an
allocation past it raises ``MemoryError``, which the CLI turns into exit 2. The cap counts the
read-only map of the input file too, so it must be larger than the input.
"""

from __future__ import annotations

import re
import resource
from collections.abc import Callable
from typing import TypeVar

from appvet.errors import EXIT_INTERNAL, LimitExceeded, UsageError
from appvet.model import Review, Skip

T = TypeVar("T")

DEFAULT_STAGE_SECONDS = 120.0
"""Mirrors ``Options.stage_seconds``; documented in docs/robustness.md."""
DEFAULT_MEMORY_LIMIT: int | None = None
"""No ceiling unless asked for (``--max-memory``): the right size depends on the machine."""
MIN_MEMORY_LIMIT = 256 * 1024**2
"""Below this the interpreter and the knowledge base alone do not fit, so every review would fail."""
ESSENTIAL_STAGES = frozenset({"ingest", "manifest", "dex"})
NON_ESSENTIAL_STAGES = frozenset({"reachability", "flows", "endpoints", "behaviours", "native", "assets",
                                  "resources", "signing"})
STRICT_EXIT_CODE = EXIT_INTERNAL

_SIZE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([kmgt]?)i?b?\s*$", re.IGNORECASE)
_UNITS = {"": 1, "k": 1024, "m": 1024**2, "g": 1024**3, "t": 1024**4}


def parse_size(text: str) -> int:
    """Bytes in ``512M``, ``4G``, ``4GiB`` or a plain number; ``UsageError`` for anything else."""
    m = _SIZE.match(text)
    if not m:
        raise UsageError(f"not a size: {text!r} (use a number of bytes or 512M, 4G ...)")
    return int(float(m.group(1)) * _UNITS[m.group(2).lower()])


def human_size(n: int) -> str:
    for unit, scale in (("GiB", 1024**3), ("MiB", 1024**2), ("KiB", 1024)):
        if n >= scale:
            return f"{n / scale:g} {unit}"
    return f"{n} bytes"


def set_memory_limit(limit: int | None) -> int | None:
    """Cap this process's address space at ``limit`` bytes (``None``: lift appvet's cap); return the old soft cap.

    Only the soft limit moves, so a later call can raise it again up to the hard limit. Raises
    ``UsageError`` for a limit too small to run in, or one above the hard limit set outside appvet.
    """
    soft, hard = resource.getrlimit(resource.RLIMIT_AS)
    previous = None if soft == resource.RLIM_INFINITY else soft
    if limit is None:
        resource.setrlimit(resource.RLIMIT_AS, (hard, hard))
        return previous
    if limit < MIN_MEMORY_LIMIT:
        raise UsageError(f"memory limit {human_size(limit)} is below the minimum of {human_size(MIN_MEMORY_LIMIT)}")
    if hard != resource.RLIM_INFINITY and limit > hard:
        raise UsageError(f"memory limit {human_size(limit)} is above this process's hard limit of "
                         f"{human_size(hard)}")
    try:
        resource.setrlimit(resource.RLIMIT_AS, (limit, hard))
    except (ValueError, OSError) as exc:
        raise UsageError(f"cannot set a memory limit of {human_size(limit)}: {exc}") from None
    return previous


def memory_limit() -> int | None:
    """The current soft address-space cap, ``None`` when there is none."""
    soft, _hard = resource.getrlimit(resource.RLIMIT_AS)
    return None if soft == resource.RLIM_INFINITY else soft


def exhausted_message(path: str, exc: BaseException) -> str:
    """The one line the CLI prints for a MemoryError or RecursionError during a review."""
    if isinstance(exc, RecursionError):
        return f"{path}: input exhausted the recursion limit (nesting too deep)"
    limit = memory_limit()
    where = f" of {human_size(limit)}" if limit is not None else ""
    return f"{path}: input exhausted memory limit{where}"


def strict_exit_code(review: Review) -> int | None:
    """Exit code for ``--strict``: 3 when any part of the input was skipped or cut, else ``None``."""
    return STRICT_EXIT_CODE if review.skips else None


def cut_stage(stage: str, run: Callable[[], T], fallback: T, skips: list[Skip], *, locator: str = "") -> T:
    """Run a non-essential stage; if it runs past its budget, record a Skip and return ``fallback``.

    Only ``LimitExceeded`` (what ``Budget.check`` raises) is caught: a format error or a bug in
    the stage still surfaces. Essential stages must not be run through here.
    """
    if stage in ESSENTIAL_STAGES:
        raise ValueError(f"stage {stage!r} is essential and cannot be cut")
    try:
        return run()
    except LimitExceeded as exc:
        skips.append(Skip(locator or stage, f"{exc.message}; {stage} not reported", stage))
        return fallback

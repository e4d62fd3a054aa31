"""Coverage-guided entry point: ``python fuzz/atheris_target.py HARNESS [libFuzzer options] [corpus dirs]``.

appvet's modules are instrumented on import, so libFuzzer sees the readers' branches; the
harness function is the one the Python engine and the tests call.
"""

from __future__ import annotations

import sys
from pathlib import Path

import atheris

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT / "src"), str(ROOT)]

with atheris.instrument_imports(include=["appvet"]):
    from fuzz.harnesses import HARNESSES


def main() -> None:
    if len(sys.argv) < 2 or sys.argv[1] not in HARNESSES:
        sys.exit(f"usage: atheris_target.py {{{','.join(HARNESSES)}}} [libFuzzer options] [corpus dirs]")
    harness = HARNESSES[sys.argv[1]]
    atheris.Setup([sys.argv[0], *sys.argv[2:]], harness)
    atheris.Fuzz()


if __name__ == "__main__":
    main()

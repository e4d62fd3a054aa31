"""What a process pays before it reads an app: ``import appvet.cli`` and a plain review load no service, fleet,
command-line framework or traffic code. Each check runs in a fresh interpreter, so an import added at module
level anywhere on the path fails it."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

BUILT = Path(__file__).parent / "fixtures" / "built"

NEVER_ON_IMPORT = {"fastapi", "starlette", "uvicorn", "sqlalchemy", "alembic", "dask", "distributed", "jinja2",
                   "typer", "click", "rich", "tldextract", "requests", "jsonschema", "yaml", "pydantic"}
NEVER_IN_A_PLAIN_REVIEW = NEVER_ON_IMPORT | {"dpkt", "phonenumbers", "maxminddb", "appvet.traffic",
                                             "appvet.fleet", "appvet.serve", "appvet.cli_app", "appvet.policy",
                                             "appvet.report.terminal"}


def _loaded(code: str) -> set[str]:
    script = code + "\nimport sys, json\nprint(json.dumps(sorted(sys.modules)))\n"
    proc = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    names = json.loads(proc.stdout.strip().splitlines()[-1])
    return {n for n in names} | {n.split(".")[0] for n in names}


def test_importing_the_cli_loads_no_heavy_dependency() -> None:
    loaded = _loaded("import appvet.cli")
    assert "appvet.cli" in loaded
    assert loaded & NEVER_ON_IMPORT == set()


def test_a_plain_json_review_loads_neither_the_cli_framework_nor_the_services(tmp_path: Path) -> None:
    out = tmp_path / "r.json"
    loaded = _loaded(
        "import sys\n"
        f"sys.argv = ['appvet', 'review', {str(BUILT / 'multisdk.apk')!r}, '-f', 'json', '-o', {str(out)!r}, '-q']\n"
        "from appvet.cli import main\n"
        "try:\n    main()\nexcept SystemExit as e:\n    assert not e.code, e.code\n")
    assert json.loads(out.read_text())["app"]["package"]  # the review really ran
    assert "appvet.review" in loaded and "appvet.analyze.endpoints" in loaded
    assert loaded & NEVER_IN_A_PLAIN_REVIEW == set()


def test_other_commands_still_get_the_full_command_line() -> None:
    loaded = _loaded("import sys\nsys.argv = ['appvet', 'version']\nfrom appvet.cli import main\n"
                     "try:\n    main()\nexcept SystemExit as e:\n    assert not e.code\n")
    assert {"typer", "appvet.cli_app"} <= loaded

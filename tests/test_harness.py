"""`make test` leaves no folders behind: a run without configured servers starts embedded ones in a
temporary folder and removes it with them; passing tests' tmp_path folders go too."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
pytestmark = pytest.mark.slow


def test_a_run_on_embedded_servers_removes_its_folders(tmp_path: Path) -> None:
    scratch = tmp_path / "tmp"
    scratch.mkdir()
    scratch.chmod(0o777)  # the embedded PostgreSQL runs as its own user when we are root
    probe = tmp_path / "test_probe.py"
    probe.write_text("def test_uses_a_folder(tmp_path):\n    (tmp_path / 'x').write_text('x')\n")
    env = {k: v for k, v in os.environ.items() if not k.startswith("VNCOMPLY_")}
    env.update(TMPDIR=str(scratch), PYTHONDONTWRITEBYTECODE="1")
    run = subprocess.run(
        # The suite's harness (tests/conftest.py) as a plugin, around a test outside the suite.
        [
            sys.executable,
            "-m",
            "pytest",
            "-q",
            "-p",
            "tests.conftest",
            "-c",
            str(ROOT / "pyproject.toml"),
            str(probe),
        ],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
    left = sorted(str(p.relative_to(scratch)) for p in scratch.rglob("*"))
    # pytest's own base folder may stay (empty of this run's test folders); nothing else.
    assert [p for p in left if "vncomply-test-" in p or "test_uses_a_folder" in p] == [], left

"""The guides run: every code block of docs/integration.md and docs/officer.md is executed, in
order, against a running stack (`vncomply api`, a worker and beat on the test database), so a guide
cannot drift from the API.

A ```sh block runs in bash (`set -euo pipefail`) with the guide's variables (`BASE`, `KEY`, …); the
variables a block sets are kept for the next ones, as in one terminal. A ```python block runs with
the venv's Python and the same variables in its environment. Any other fence in a guide fails the
test: there is nothing in them a reader would copy that is not run.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.factories import make_authority, make_key, make_platform
from vncomply.kit.principal import Role

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(shutil.which("jq") is None, reason="the guides use jq (.ci/run installs it)"),
]

ROOT = Path(__file__).resolve().parents[1]
FENCE = re.compile(r"^```(\w*)\n(.*?)^```$", re.M | re.S)
RUNNABLE = ("sh", "python")
BIN = Path(sys.executable).parent


def blocks(guide: str) -> list[tuple[str, str]]:
    return [(m[1], m[2]) for m in FENCE.finditer((ROOT / "docs" / guide).read_text())]


@pytest.mark.parametrize("guide", ["integration.md", "officer.md"])
def test_every_block_of_the_guide_is_one_the_runner_runs(guide: str) -> None:
    found = blocks(guide)
    assert len(found) >= 6
    assert {lang for lang, _ in found} <= set(RUNNABLE), [lang for lang, _ in found]


class Shell:
    """One reader's terminal: variables set by a block are there for the next one."""

    def __init__(self, cwd: Path, variables: dict[str, str]) -> None:
        cwd.mkdir(parents=True, exist_ok=True)
        self.cwd = cwd
        self.state = cwd / "state.sh"
        path = f"{BIN}:{os.environ['PATH']}"  # `python` is the venv's, as after `source .venv/bin/activate`
        exports = "".join(f"export {k}={_quote(v)}\n" for k, v in {**variables, "PATH": path}.items())
        self.state.write_text(exports)

    def sh(self, code: str) -> subprocess.CompletedProcess[str]:
        keep = f"{{ export -p; declare -f; }} > {self.state}.new"  # what the next block starts from
        script = f"set -a\n. {self.state}\nset -euo pipefail\n{code}\n{keep}\n"
        run = subprocess.run(
            ["bash", "-c", script], cwd=self.cwd, capture_output=True, text=True, timeout=120
        )
        if run.returncode == 0:
            (self.cwd / "state.sh.new").replace(self.state)
        return run

    def python(self, code: str) -> subprocess.CompletedProcess[str]:
        env = subprocess.run(
            ["bash", "-c", f". {self.state}; env -0"], capture_output=True, text=True, check=True
        ).stdout
        environment = dict(line.split("=", 1) for line in env.split("\0") if "=" in line)
        return subprocess.run(
            [str(BIN / "python"), "-c", code],
            cwd=self.cwd,
            env=environment,
            capture_output=True,
            text=True,
            timeout=120,
        )


def _quote(value: str) -> str:
    return "'" + value.replace("'", "'\\''") + "'"


def run_guide(guide: str, shell: Shell) -> list[str]:
    outputs = []
    for n, (lang, code) in enumerate(blocks(guide), 1):
        run = shell.sh(code) if lang == "sh" else shell.python(code)
        assert run.returncode == 0, (
            f"{guide} block {n} ({lang}) failed:\n{code}\n--- stdout\n{run.stdout}\n--- stderr\n{run.stderr}"
        )
        outputs.append(run.stdout)
    return outputs


@pytest.fixture
async def world(committed) -> dict[str, Any]:
    async with committed() as s:
        pid = await make_platform(s, "GuideSocial")
        _, platform = await make_key(s, Role.platform, platform_id=pid)
        _, officer = await make_key(s, Role.officer, platform_id=pid)
        _, authority = await make_authority(s, "A05", [pid])
        await s.commit()
    return {"platform_id": str(pid), "platform": platform, "officer": officer, "authority": authority}


@pytest.fixture
def base(world: dict[str, Any], tmp_path: Path) -> Iterator[str]:
    from tests.live import stack

    with stack(tmp_path) as url:
        yield url


def _authority_sends(base: str, world: dict[str, Any]) -> None:
    """What an authority's system sends the platform: a takedown order, a disclosure request, a block."""
    auth = {"Authorization": f"Bearer {world['authority']}"}
    common = {"platform_id": world["platform_id"], "legal_basis": "Decree 147/2024 Art. 23"}
    order = {
        **common,
        "reference_no": f"A05/TD/{uuid.uuid4().hex[:6]}",
        "channel": "electronic",
        "urgency": "standard",
        "category": "fraud",
        "items": [
            {"content_url": "https://social.example/p/1", "account_id": "u-1001", "subject_type": "post"},
            {"content_url": "https://social.example/p/2", "subject_type": "post"},
        ],
    }
    httpx.post(f"{base}/v1/takedown-orders", json=order, headers=auth).raise_for_status()
    request = {
        **common,
        "reference_no": f"A05/DR/{uuid.uuid4().hex[:6]}",
        "subject": {"account_id": "u-1001"},
        "fields": ["full_name", "date_of_birth"],
        "reason": "Identify the author of posts under investigation",
    }
    httpx.post(f"{base}/v1/disclosure-requests", json=request, headers=auth).raise_for_status()
    tag = uuid.uuid4().hex[:6]
    block = {
        **common,
        "reference_no": f"A05/BL/{tag}",
        "subject_type": "page",
        "subject_id": f"page-{tag}",
        "duration_days": 15,
        "category": "fraud",
        "reason": "Repeated fraudulent investment offers",
    }
    httpx.post(f"{base}/v1/account-blocks", json=block, headers=auth).raise_for_status()


def test_the_guides_run_against_a_running_stack(base: str, world: dict[str, Any], tmp_path: Path) -> None:
    # One order waits for the platform (its webhook example resolves it).
    _authority_sends(base, world)
    out = run_guide(
        "integration.md", Shell(tmp_path / "integration", {"BASE": base, "KEY": world["platform"]})
    )
    assert "takedown.standard.v1" in out[0]
    assert "401" in out[1]
    assert '"status": "verified"' in out[2]
    assert "body.date_of_birth: must be a date as YYYY-MM-DD" in out[3]
    assert "u-4040: unverified" in out[5]
    assert '"accepted":2,"rejected":1' in out[7]
    assert out[8].startswith("takedown.completed")
    assert "takedown.completed" in out[9]

    # The officer's day: what the authority sent next.
    _authority_sends(base, world)
    variables = {"BASE": base, "KEY": world["officer"], "PLATFORM_ID": world["platform_id"]}
    out = run_guide("officer.md", Shell(tmp_path / "officer", variables))
    assert "2 item(s) pending" in out[0]
    assert "partially_approved: full_name until" in out[3]
    assert "lifted" in out[4]
    assert 'such as {"reason": ' in out[5]
    assert "disclosure.decided" in out[6]
    assert "frozen: " in out[7]

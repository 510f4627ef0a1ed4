"""The `keys` sub-app (mounted as `vncomply keys` by the main CLI)."""

from __future__ import annotations

from typer.testing import CliRunner

from vncomply.crypto import decode_key
from vncomply.identities.cli import app


def test_generate_prints_a_key():
    result = CliRunner().invoke(app, ["generate"])
    assert result.exit_code == 0
    assert len(decode_key(result.output.strip())) == 32


def test_rotate_help():
    result = CliRunner().invoke(app, ["rotate", "--help"])
    assert result.exit_code == 0
    assert "batch-size" in result.output

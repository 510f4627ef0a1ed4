"""The identities' `keys` commands (mounted as `vncomply keys rotate` by the main CLI)."""

from __future__ import annotations

from typer.testing import CliRunner

from vncomply.cli import app


def test_rotate_help():
    result = CliRunner().invoke(app, ["keys", "rotate", "--help"])
    assert result.exit_code == 0
    assert "batch-size" in result.output


async def test_rotate_runs_to_the_end_on_real_rows(committed, monkeypatch, capsys):
    """The command's loop (progress bar, one transaction per batch) over committed rows, with both
    keys changed: afterwards nothing is left to rotate."""
    from tests.factories import make_platform
    from tests.identities.helpers import body
    from vncomply.config import get_settings, reset_settings
    from vncomply.identities import cli, rotation
    from vncomply.identities import service as identity_service
    from vncomply.identities.schemas import IdentityIn
    from vncomply.kit.crypto import generate_key
    from vncomply.kit.principal import Principal, Role

    async with committed() as s:
        pid = await make_platform(s)
        actor = Principal(pid, Role.platform, pid, None)
        for i in range(7):
            await identity_service.put_identity(s, actor, f"r{i}", IdentityIn.model_validate(body()))
        await s.commit()
    settings = get_settings()
    monkeypatch.setenv("VNCOMPLY_FIELD_KEYS", f"{settings.field_keys},k9:{generate_key()}")
    monkeypatch.setenv("VNCOMPLY_BLIND_INDEX_KEY", generate_key())
    monkeypatch.setenv("VNCOMPLY_BLIND_INDEX_KEY_PREVIOUS", settings.blind_index_key)
    reset_settings()
    try:
        await cli.rotate_all(batch_size=3)
        assert "every row is under field key k9" in capsys.readouterr().out
        async with committed() as s:
            assert await rotation.Rotation().remaining(s) == 0
    finally:
        monkeypatch.undo()
        reset_settings()

"""A streaming replica of an embedded PostgreSQL, from the same binaries: `pg_basebackup -R` of the
primary, then started like any embedded server (to try ``VNCOMPLY_DATABASE_READ_URL`` locally,
and for the replica tests)."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import make_url

from vncomply.embedded.postgres import PG_SUPERUSER, _pg_bin, _PgRunner, start_postgres
from vncomply.embedded.server import LOCALHOST, EmbeddedServer


def start_replica(primary_url: str, data_dir: Path) -> EmbeddedServer:
    """Start a hot standby streaming from the embedded PostgreSQL at ``primary_url`` (copied on
    first use into ``data_dir/data``; later starts reuse the copy and catch up)."""
    data_dir = data_dir.expanduser().resolve()
    data_dir.mkdir(parents=True, exist_ok=True)
    pgdata = data_dir / "data"
    if not (pgdata / "PG_VERSION").exists():
        port = make_url(primary_url).port
        runner = _PgRunner(data_dir)
        # -R writes standby.signal and primary_conninfo; -X stream copies the WAL written meanwhile.
        runner.run(
            [
                _pg_bin("pg_basebackup"),
                "-h",
                LOCALHOST,
                "-p",
                str(port),
                "-U",
                PG_SUPERUSER,
                "-D",
                pgdata,
                "-R",
                "-X",
                "stream",
                "-c",
                "fast",
            ]
        )
    return start_postgres(data_dir)

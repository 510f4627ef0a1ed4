"""Retention: the purge of long-closed identities leaves no ciphertext or blind index and keeps the
tombstone; old delivered events go; the settings' floor; the CLI; the rulebook says what the
setting encodes."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import httpx
import pytest
from pydantic import ValidationError
from sqlalchemy import select, text
from sqlalchemy.ext.asyncio import AsyncSession
from typer.testing import CliRunner

from tests.factories import auth, platform_keys
from tests.reports import helpers
from vncomply.audit.models import AuditEvent
from vncomply.config import RETENTION_MONTHS_FLOOR, Settings
from vncomply.events import delivery, outbox
from vncomply.events import retention as event_retention
from vncomply.events import tasks as event_tasks
from vncomply.events.models import Event, WebhookDelivery
from vncomply.identities import retention
from vncomply.identities import tasks as identity_tasks
from vncomply.identities.models import Identity
from vncomply.kit import clock
from vncomply.rulebook import rules as rulebook

T0 = datetime(2026, 1, 10, 3, 0, tzinfo=UTC)
NAME, PHONE, NID = "Nguyễn Văn An", "0912345678", "001090123456"
CIPHER = ("full_name_enc", "date_of_birth_enc", "phone_enc", "national_id_enc", "guardian_enc")
INDEXES = ("phone_bi", "national_id_bi")


def test_months_before_clamps_to_the_month_end() -> None:
    t = datetime(2026, 3, 31, 12, 0, tzinfo=UTC)
    assert retention.months_before(t, 1) == datetime(2026, 2, 28, 12, 0, tzinfo=UTC)
    assert retention.months_before(t, 24) == datetime(2024, 3, 31, 12, 0, tzinfo=UTC)
    assert retention.months_before(t, 25) == datetime(2024, 2, 29, 12, 0, tzinfo=UTC)
    assert retention.months_before(t, 0) == t


async def _row(db: AsyncSession, account: str) -> Identity:
    db.expire_all()
    return (await db.scalars(select(Identity).where(Identity.account_id == account))).one()


async def test_purge_leaves_no_ciphertext_and_keeps_the_tombstone(
    db: AsyncSession, client: httpx.AsyncClient
) -> None:
    clock.set_now(T0)
    k = await platform_keys(db)
    h = auth(k.platform)
    guardian = {**helpers.GUARDIAN}
    await helpers.identity(client, k.platform, "old", PHONE, national_id=NID)
    await helpers.identity(
        client, k.platform, "kid", "0911222333", date_of_birth="2012-06-01", guardian=guardian
    )
    await helpers.identity(client, k.platform, "recent", "0987654321")
    await helpers.identity(client, k.platform, "open", "0911222444")
    for account in ("old", "kid"):
        assert (await client.delete(f"/v1/identities/{account}", headers=h)).status_code == 200
    clock.set_now(T0 + timedelta(days=400))
    assert (await client.delete("/v1/identities/recent", headers=h)).status_code == 200
    before = await _row(db, "old")
    assert before.full_name_enc
    assert before.phone_bi
    assert before.national_id_bi
    old_name, old_phone_bi = before.full_name_enc.hex(), before.phone_bi.hex()

    # 24 months after the first two closures, to the day: not yet more than 24 months.
    clock.set_now(retention.months_before(T0, -24))
    assert await retention.due(db, clock.now(), 24) == 0
    clock.advance(timedelta(seconds=1))
    assert await retention.due(db, clock.now(), 24) == 2
    purged = await identity_tasks.retention_once()  # the daily task, with the default 24 months
    assert purged == 2

    for account in ("old", "kid"):
        row = await _row(db, account)
        assert all(getattr(row, c) is None for c in (*CIPHER, *INDEXES)), account
        assert row.minor_until is None
        assert row.verification_reference is None
        # The tombstone: status, method, dates.
        assert (row.status, row.method) == ("closed", "sms_otp")
        assert row.closed_at is not None
        assert row.verified_at is not None
        assert row.purged_at == clock.now()
    assert (await _row(db, "recent")).full_name_enc is not None
    assert (await _row(db, "open")).full_name_enc is not None
    # No ciphertext left anywhere in the row, byte for byte: the old blobs are gone from the table.
    dump = (await db.execute(text("SELECT string_agg(t::text, '') FROM identities t"))).scalar_one()
    assert old_name not in dump
    assert old_phone_bi not in dump

    r = await client.get("/v1/identities/old", headers=h)
    assert r.status_code == 200, r.text
    out = r.json()
    assert out["status"] == "closed"
    assert out["purged_at"] is not None
    assert datetime.fromisoformat(out["purged_at"]) == clock.now()
    assert out["masked"] == {"full_name": "", "phone_number": None, "national_id": None}
    # A search by the purged phone number finds nothing any more.
    r = await client.post("/v1/identities/search", json={"phone_number": PHONE}, headers=auth(k.officer))
    assert r.json()["items"] == []

    # Audited with counts only.
    [a] = (await db.scalars(select(AuditEvent).where(AuditEvent.action == "identity.retention_purged"))).all()
    assert a.platform_id == k.platform_id
    assert a.actor_role == "system"
    cutoff = (T0 + timedelta(seconds=1)).isoformat()
    assert a.details == {"count": 2, "closed_before": cutoff, "retention_months": 24}
    # A second run finds nothing to do.
    assert await identity_tasks.retention_once() == 0

    # Recorded again later: the data is back and the purge no longer describes it.
    await helpers.identity(client, k.platform, "old", PHONE)
    again = (await client.get("/v1/identities/old", headers=h)).json()
    assert (again["status"], again["purged_at"]) == ("verified", None)


async def test_dev_and_test_may_purge_at_once(db: AsyncSession, client: httpx.AsyncClient) -> None:
    clock.set_now(T0)
    k = await platform_keys(db)
    await helpers.identity(client, k.platform, "gone", PHONE)
    assert (await client.delete("/v1/identities/gone", headers=auth(k.platform))).status_code == 200
    clock.advance(timedelta(seconds=1))
    assert await retention.purge_batch(db, clock.now(), 0) == 1
    assert (await _row(db, "gone")).full_name_enc is None


def test_prod_refuses_less_than_24_months() -> None:
    assert rulebook.rule_by_id("retention.v1").params["identity_months"] == RETENTION_MONTHS_FLOOR
    prod = {
        "env": "prod",
        "field_keys": "k1:" + "A" * 43,
        "blind_index_key": "B" * 43,
        "database_url": "postgresql+psycopg://db/x",
        "redis_url": "redis://r:6379/0",
    }
    with pytest.raises(ValidationError, match="VNCOMPLY_RETENTION_MONTHS=23 is below the legal minimum"):
        Settings(**prod, retention_months=23)
    assert Settings(**prod).retention_months == 24
    assert Settings(**prod, retention_months=36).retention_months == 36
    assert Settings(env="test", retention_months=0).retention_months == 0
    assert Settings(env="dev", retention_months=0).event_retention_days == 90


def test_rulebook_says_what_the_setting_encodes() -> None:
    rule = rulebook.rule_by_id("retention.v1")
    assert rule.params["identity_months_from"] == "authority_storage_request"
    assert rule.params["purge_setting"] == "VNCOMPLY_RETENTION_MONTHS"
    assert rule.params["purge_months_from"] == "account_closure"
    assert "storage request" in rule.summary
    assert "not from account closure" in rule.summary
    assert "Decree 53" in rule.source


async def test_old_delivered_events_are_deleted(db: AsyncSession, client: httpx.AsyncClient) -> None:
    clock.set_now(T0)
    k = await platform_keys(db)
    r = await client.post(
        "/v1/webhook-endpoints",
        headers=auth(k.platform),
        json={"url": "http://127.0.0.1:9/h", "event_types": ["*"]},
    )
    assert r.status_code == 201, r.text
    old_done = await outbox.emit(db, k.platform_id, "takedown.received", {"order_id": "a"})
    old_retrying = await outbox.emit(db, k.platform_id, "takedown.received", {"order_id": "b"})
    await db.flush()
    await delivery.run_cycle(sender=helpers.AlwaysOk())  # type: ignore[arg-type]
    # b's delivery is still being retried, c was never dispatched: both stay.
    await db.execute(
        text("UPDATE webhook_deliveries SET status = 'pending', next_attempt_at = :t FROM events e "
             "WHERE e.id = event_id AND e.data->>'order_id' = 'b'"),
        {"t": T0 + timedelta(days=100)},
    )  # fmt: skip
    old_undispatched = await outbox.emit(db, k.platform_id, "takedown.received", {"order_id": "c"})
    clock.set_now(T0 + timedelta(days=89))
    young = await outbox.emit(db, k.platform_id, "takedown.received", {"order_id": "d"})
    await db.flush()
    clock.set_now(T0 + timedelta(days=90, seconds=1))
    assert await event_retention.due(db, clock.now(), 90) == 1
    assert await event_tasks._purge() == 1
    left = set((await db.scalars(select(Event.id))).all())
    assert left == {old_retrying.id, old_undispatched.id, young.id}
    assert old_done.id not in left
    assert (
        await db.scalars(select(WebhookDelivery).where(WebhookDelivery.event_id == old_done.id))
    ).all() == []
    [a] = (await db.scalars(select(AuditEvent).where(AuditEvent.action == "events.retention_purged"))).all()
    assert a.details == {"events": 1, "deliveries": 1, "retention_days": 90}


def test_cli_retention_command_is_mounted() -> None:
    from vncomply.cli import app

    result = CliRunner().invoke(app, ["retention", "run", "--help"])
    assert result.exit_code == 0, result.output
    assert "--dry-run" in result.output
    assert "--batch-size" in result.output


async def test_cli_retention_run_and_dry_run(
    committed: object, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """The command's work against real commits: --dry-run counts and changes nothing; a run
    purges in batches, each its own transaction (one audit record each)."""
    from sqlalchemy.ext.asyncio import async_sessionmaker

    from vncomply.app import create_app
    from vncomply.reports import cli

    maker: async_sessionmaker[AsyncSession] = committed  # type: ignore[assignment]
    clock.set_now(T0)
    async with maker() as s:
        k = await platform_keys(s)
        await s.commit()
    transport = httpx.ASGITransport(app=create_app())
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as c:
        for n in range(3):
            await helpers.identity(c, k.platform, f"u-{n}", f"091122200{n}")
            assert (await c.delete(f"/v1/identities/u-{n}", headers=auth(k.platform))).status_code == 200
    clock.set_now(T0 + timedelta(seconds=5))
    await cli._run(dry_run=True, batch=2, months=0, days=90)
    out = capsys.readouterr().out
    assert "would purge 3 identities" in out
    assert "nothing was changed" in out
    async with maker() as s:
        assert await retention.due(s, clock.now(), 0) == 3
    await cli._run(dry_run=False, batch=2, months=0, days=90)
    assert "done: purged 3 identities; deleted 0 events" in capsys.readouterr().out
    async with maker() as s:
        assert await retention.due(s, clock.now(), 0) == 0
        rows = (await s.scalars(select(Identity).where(Identity.platform_id == k.platform_id))).all()
        assert len(rows) == 3
        assert all(r.full_name_enc is None and r.purged_at is not None for r in rows)
        audits = (
            await s.scalars(select(AuditEvent).where(AuditEvent.action == "identity.retention_purged"))
        ).all()
        assert sorted(a.details["count"] for a in audits) == [1, 2]  # one record per batch

"""Frozen snapshots: stored byte for byte (the SHA-256 round trip), audited with their hash and the
audit chain heads, rendered from the stored figures, listed per platform; beat's monthly freeze."""

from __future__ import annotations

import base64
import hashlib
import json
from datetime import UTC, datetime, timedelta

import httpx
from sqlalchemy import func, select, text, update
from sqlalchemy.ext.asyncio import AsyncSession

from tests.factories import auth
from tests.reports import helpers
from tests.reports.helpers import PERIOD, REPORT_AT
from vncomply.audit import service as audit_service
from vncomply.audit.models import AuditEvent
from vncomply.events.models import Event
from vncomply.kit import clock
from vncomply.platforms.models import Platform
from vncomply.reports import tasks
from vncomply.reports.models import ReportSnapshot


def base(w: helpers.World) -> str:
    return f"/v1/platforms/{w.keys.platform_id}/reports"


async def test_snapshot_round_trip(db: AsyncSession, client: httpx.AsyncClient) -> None:
    w = await helpers.build(db, client)
    h = auth(w.keys.officer)
    live = (await client.get(f"{base(w)}/compliance", params=PERIOD, headers=h)).json()
    r = await client.post(base(w), json={"kind": "compliance", **PERIOD}, headers=h)
    assert r.status_code == 201, r.text
    snap = r.json()
    assert set(snap) == {"id", "kind", "period", "generated_at", "sha256", "audit_chain", "scheduled"}
    assert (snap["kind"], snap["scheduled"]) == ("compliance", False)
    assert snap["period"] == {"from": "2026-11-01", "to": "2026-11-30", "timezone": "Asia/Ho_Chi_Minh"}
    assert datetime.fromisoformat(snap["generated_at"]) == REPORT_AT

    got = await client.get(f"{base(w)}/{snap['id']}", headers=h)
    assert got.status_code == 200
    assert got.headers["content-type"] == "application/json"
    assert hashlib.sha256(got.content).hexdigest() == snap["sha256"]
    digest = base64.b64encode(hashlib.sha256(got.content).digest()).decode()
    assert got.headers["repr-digest"] == f"sha-256=:{digest}:"
    doc = got.json()
    assert doc == live  # the same figures as the live report at the same instant
    # The audit chain heads it was generated against are inside the hashed bytes.
    head = doc["audit_chain"]["platform"]
    assert head == snap["audit_chain"]["platform"]
    row = (await db.execute(select(AuditEvent).where(AuditEvent.seq == head["seq"]))).scalar_one()
    assert (row.chain_seq, row.hash.hex() if row.hash else None) == (head["chain_seq"], head["hash"])
    assert row.platform_id == w.keys.platform_id

    # Later changes move the live report, never the snapshot.
    clock.advance(timedelta(days=1))
    await helpers.order(client, w.abei_key, w.keys.platform_id, "LATE-ADD", 1, received_at=None)
    await db.execute(update(Platform).where(Platform.id == w.keys.platform_id).values(name="Renamed"))
    again = await client.get(f"{base(w)}/{snap['id']}", headers=h)
    assert again.content == got.content
    # csv and html render the stored figures.
    csv_text = (await client.get(f"{base(w)}/{snap['id']}", params={"format": "csv"}, headers=h)).text
    assert "platform,name,,ExampleSocial" in csv_text
    assert "takedowns,orders_received,,5" in csv_text
    html = await client.get(f"{base(w)}/{snap['id']}", params={"format": "html", "lang": "vi"}, headers=h)
    assert '<html lang="vi">' in html.text
    assert "ExampleSocial" in html.text
    assert "Renamed" not in html.text

    # Audited with its hash, announced once.
    [a] = (await db.scalars(select(AuditEvent).where(AuditEvent.action == "report.snapshot_created"))).all()
    assert (a.resource_type, a.resource_id, a.platform_id) == ("report", snap["id"], w.keys.platform_id)
    assert a.details["sha256"] == snap["sha256"]
    assert a.details["audit_chain"] == snap["audit_chain"]
    [e] = (await db.scalars(select(Event).where(Event.type == "report.snapshot_created"))).all()
    assert (e.data["report_id"], e.data["sha256"]) == (snap["id"], snap["sha256"])


async def test_snapshot_heads_expose_a_truncated_trail(db: AsyncSession, client: httpx.AsyncClient) -> None:
    """A regulator holding a snapshot can tell that the trail no longer reaches its chain head."""
    w = await helpers.build(db, client)
    h = auth(w.keys.officer)
    snap = (await client.post(base(w), json={"kind": "compliance", **PERIOD}, headers=h)).json()
    head = snap["audit_chain"]["platform"]
    stored = (await client.get(f"{base(w)}/{snap['id']}", headers=h)).json()["audit_chain"]["platform"]
    assert stored == head
    # Cut the tail of the platform's chain, as a superuser could (past the append-only trigger).
    await db.execute(text("SET LOCAL session_replication_role = replica"))
    await db.execute(
        AuditEvent.__table__.delete().where(
            AuditEvent.platform_id == w.keys.platform_id, AuditEvent.chain_seq >= head["chain_seq"]
        )
    )
    await db.execute(text("SET LOCAL session_replication_role = origin"))
    assert (await audit_service.verify(db, w.keys.platform_id, False)).ok  # the chain alone looks fine
    last = await db.scalar(
        select(func.max(AuditEvent.chain_seq)).where(
            AuditEvent.platform_id == w.keys.platform_id, AuditEvent.hash.is_not(None)
        )
    )
    assert last is not None
    assert last < head["chain_seq"]


async def test_annual_snapshot_list_and_validation(db: AsyncSession, client: httpx.AsyncClient) -> None:
    w = await helpers.build(db, client)
    h = auth(w.keys.officer)
    r = await client.post(base(w), json={"kind": "annual", "year": 2026}, headers=h)
    assert r.status_code == 201, r.text
    annual = r.json()
    body = (await client.get(f"{base(w)}/{annual['id']}", headers=h)).json()
    assert body["kind"] == "annual"
    assert body["service"]["legal_name"] == "ExampleSocial Inc."
    for bad in (
        {"kind": "annual"},
        {"kind": "annual", "year": 2026, "from": "2026-01-01"},
        {"kind": "compliance", "year": 2026},
        {"kind": "annual", "year": 2027},
        {"kind": "compliance", "from": "2026-11-30", "to": "2026-11-01"},
        {"kind": "weekly"},
    ):
        assert (await client.post(base(w), json=bad, headers=h)).status_code == 422, bad
    # The idempotency key replays the first snapshot instead of freezing a second one.
    clock.advance(timedelta(seconds=1))  # the list is ordered by creation time
    first = await client.post(
        base(w), json={"kind": "compliance", **PERIOD}, headers={**h, "Idempotency-Key": "nov-report"}
    )
    replay = await client.post(
        base(w), json={"kind": "compliance", **PERIOD}, headers={**h, "Idempotency-Key": "nov-report"}
    )
    assert replay.json()["id"] == first.json()["id"]
    clock.advance(timedelta(seconds=1))
    admin_made = await client.post(base(w), json={"kind": "compliance", **PERIOD}, headers=auth(w.admin))
    assert admin_made.status_code == 201

    page1 = await client.get(base(w), params={"limit": 2}, headers=h)
    assert page1.status_code == 200
    assert [s["id"] for s in page1.json()["items"]] == [annual["id"], first.json()["id"]]
    page2 = await client.get(base(w), params={"limit": 2, "cursor": page1.json()["next_cursor"]}, headers=h)
    assert [s["id"] for s in page2.json()["items"]] == [admin_made.json()["id"]]
    assert page2.json()["next_cursor"] is None

    # Another tenant sees none of it: 404 for the list, the snapshot, and freezing one.
    o = auth(w.other.officer)
    assert (await client.get(base(w), headers=o)).status_code == 404
    assert (await client.get(f"{base(w)}/{annual['id']}", headers=o)).status_code == 404
    assert (await client.post(base(w), json={"kind": "annual", "year": 2026}, headers=o)).status_code == 404
    # Nor through its own platform's path.
    theirs = f"/v1/platforms/{w.other.platform_id}/reports/{annual['id']}"
    assert (await client.get(theirs, headers=o)).status_code == 404
    assert (await client.get(base(w), headers=auth(w.keys.platform))).status_code == 403


async def test_beat_freezes_last_month_once_per_platform(db: AsyncSession, client: httpx.AsyncClient) -> None:
    w = await helpers.build(db, client)
    # Out of scope: no monthly report. (The other two platforms have 500,000 visits a month.)
    quiet = Platform(
        name="Tiny", legal_name="Tiny Ltd", contact_point={}, monthly_vn_visits=10, stores_data_in_vn=False
    )
    db.add(quiet)
    await db.flush()
    # 30 November 23:30 in Vietnam: November is not over, October is frozen.
    clock.set_now(datetime(2026, 11, 30, 16, 30, tzinfo=UTC))
    assert await tasks._freeze() == 2
    # 1 December 00:05 in Vietnam: November is frozen; a second tick freezes nothing.
    clock.set_now(datetime(2026, 11, 30, 17, 5, tzinfo=UTC))
    assert await tasks._freeze() == 2
    assert await tasks._freeze() == 0
    rows = (
        await db.scalars(
            select(ReportSnapshot)
            .where(ReportSnapshot.platform_id == w.keys.platform_id)
            .order_by(ReportSnapshot.period_from)
        )
    ).all()
    assert [(s.kind, s.period_from.isoformat(), s.period_to.isoformat(), s.scheduled) for s in rows] == [
        ("compliance", "2026-10-01", "2026-10-31", True),
        ("compliance", "2026-11-01", "2026-11-30", True),
    ]
    assert not (await db.scalars(select(ReportSnapshot).where(ReportSnapshot.platform_id == quiet.id))).all()
    nov = json.loads(rows[1].body)
    assert nov["takedowns"]["orders_received"] == 5
    assert nov["period"] == {"from": "2026-11-01", "to": "2026-11-30", "timezone": "Asia/Ho_Chi_Minh"}
    assert hashlib.sha256(rows[1].body).hexdigest() == rows[1].sha256
    oct_ = json.loads(rows[0].body)
    assert oct_["takedowns"]["orders_received"] == 1  # O0, one second before November
    listed = (await client.get(base(w), headers=auth(w.keys.officer))).json()["items"]
    assert [s["scheduled"] for s in listed] == [True, True]
    audits = (
        await db.scalars(select(AuditEvent).where(AuditEvent.action == "report.snapshot_created"))
    ).all()
    assert len(audits) == 4
    assert {a.actor_role for a in audits} == {"system"}

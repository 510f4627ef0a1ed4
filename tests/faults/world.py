"""What a fault test puts into a running stack, through the HTTP API as a client would: platforms,
an authority, keys, webhook endpoints, identities, an order per platform. Thousands of due orders
are then copied from those orders in one SQL statement (creating them one request at a time would
spend the test's minutes on set-up)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import httpx

from tests.faults.stack import ADMIN_KEY, Stack

PHONE = "0912345678"


def auth(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


def _ok(r: httpx.Response) -> dict[str, object]:
    assert r.status_code in (200, 201), f"{r.request.method} {r.request.url}: {r.status_code} {r.text}"
    body: dict[str, object] = r.json()
    return body


@dataclass
class Tenant:
    platform_id: str
    platform_key: str
    endpoint_secret: str | None = None
    accounts: list[str] = field(default_factory=list)


@dataclass
class World:
    base: str
    authority_id: str
    authority_key: str
    tenants: list[Tenant]
    template_orders: dict[str, str]  # platform id -> an order created through the API

    @property
    def tenant(self) -> Tenant:
        return self.tenants[0]


def build(
    base: str,
    *,
    platforms: int = 2,
    accounts: int = 20,
    webhook_url: str | None = None,
) -> World:
    """Platforms with a platform key, ``accounts`` verified identities each, a webhook endpoint
    (all events) when ``webhook_url`` is given, one authority for all of them, and one takedown
    order per platform (its `takedown.received` event also creates the platform's event counter)."""
    admin = auth(ADMIN_KEY)
    tenants: list[Tenant] = []
    with httpx.Client(base_url=base, timeout=30) as c:
        for n in range(platforms):
            p = _ok(
                c.post(
                    "/v1/platforms",
                    headers=admin,
                    json={
                        "name": f"Fault{n}",
                        "legal_name": f"Fault{n} Inc.",
                        "contact_point": {
                            "name": "Tran Thi B",
                            "email": "c@example.com",
                            "phone": "+84 24 3825 0000",
                            "address": "Ha Noi",
                        },
                        "monthly_vn_visits": 500_000,
                        "in_scope_since": "2025-01-01",
                        "contact_filed_at": "2025-01-01T00:00:00Z",
                    },
                )
            )
            pid = str(p["id"])
            key = _ok(
                c.post(
                    "/v1/api-keys",
                    headers=admin,
                    json={"role": "platform", "platform_id": pid, "name": "backend"},
                )
            )["key"]
            tenant = Tenant(pid, str(key))
            if webhook_url is not None:
                ep = _ok(
                    c.post(
                        "/v1/webhook-endpoints", headers=auth(tenant.platform_key), json={"url": webhook_url}
                    )
                )
                tenant.endpoint_secret = str(ep["secret"])
            for i in range(accounts):
                account = f"acct-{n}-{i}"
                _ok(
                    c.put(
                        f"/v1/identities/{account}",
                        headers=auth(tenant.platform_key),
                        json={
                            "full_name": "Nguyễn Văn An",
                            "date_of_birth": "1990-05-17",
                            "phone_number": PHONE,
                            "verification": {"method": "sms_otp", "verified_at": "2026-01-01T00:00:00Z"},
                        },
                    )
                )
                tenant.accounts.append(account)
            tenants.append(tenant)
        a = _ok(
            c.post(
                "/v1/authorities",
                headers=admin,
                json={"code": "ABEI", "name": "ABEI authority", "kind": "ministry", "platforms": "all"},
            )
        )
        akey = _ok(
            c.post(
                "/v1/api-keys",
                headers=admin,
                json={"role": "authority", "authority_id": a["id"], "name": "officer desk"},
            )
        )["key"]
        orders: dict[str, str] = {}
        for t in tenants:
            o = _ok(
                c.post(
                    "/v1/takedown-orders",
                    headers=auth(str(akey)),
                    json={
                        "platform_id": t.platform_id,
                        "reference_no": f"TPL-{t.platform_id[:8]}",
                        "channel": "electronic",
                        "urgency": "standard",
                        "category": "fraud",
                        "legal_basis": "Decree 147/2024 Art. 23",
                        "items": [{"content_url": "https://social.example/p/1", "subject_type": "post"}],
                    },
                )
            )
            orders[t.platform_id] = str(o["id"])
    return World(base, str(a["id"]), str(akey), tenants, orders)


_OVERRIDDEN = {
    "id",
    "reference_no",
    "received_at",
    "due_at",
    "reminders_sent",
    "next_action_at",
    "breached_at",
    "created_at",
    "updated_at",
}


def seed_due_orders(
    stack: Stack,
    template_order: str,
    count: int,
    *,
    first_due: datetime,
    spread: timedelta = timedelta(0),
    window: timedelta | None = None,
    tag: str = "S",
) -> None:
    """``count`` copies of ``template_order`` falling due evenly from ``first_due`` over ``spread``
    (all at once when it is zero). Without ``window`` their only remaining step is
    `takedown.overdue`; with it they were received ``window`` before their due time and have had
    no reminder yet (so a window of seconds fires all three reminders, then overdue)."""
    cols = [
        str(c[0])
        for c in stack.sql(
            "SELECT column_name FROM information_schema.columns "
            "WHERE table_name = 'takedown_orders' ORDER BY ordinal_position"
        )
    ]
    kept = [c for c in cols if c not in _OVERRIDDEN]
    step = spread / max(1, count - 1)
    names = ", ".join([*kept, *sorted(_OVERRIDDEN)])
    values = ", ".join(f"t.{c}" for c in kept)
    # Columns of the overridden set, in sorted order: breached_at, created_at, due_at, id,
    # next_action_at, received_at, reference_no, reminders_sent, updated_at.
    stack.sql(
        f"""
        INSERT INTO takedown_orders ({names})
        SELECT {values}, NULL, d.received, d.due, gen_random_uuid(),
               CASE WHEN %(sent)s = 3 THEN d.due ELSE d.received + %(window)s::interval / 2 END,
               d.received, %(tag)s || '-' || i, %(sent)s, d.received
        FROM takedown_orders t, generate_series(0, %(n)s - 1) AS i,
             LATERAL (SELECT %(first)s::timestamptz + i * %(step)s::interval AS due) AS d0,
             LATERAL (SELECT d0.due, d0.due - %(window)s::interval AS received) AS d
        WHERE t.id = %(tpl)s
        """,  # noqa: S608 - column names come from the catalogue, values are bound
        {
            "tag": tag,
            "n": count,
            "first": first_due,
            "step": step,
            "tpl": template_order,
            "window": window or timedelta(hours=24),
            "sent": 3 if window is None else 0,
        },
    )


def now() -> datetime:
    return datetime.now(UTC)


def new_ref() -> str:
    return uuid.uuid4().hex[:12]

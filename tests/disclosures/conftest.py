"""A small world for the disclosure tests: two platforms with identities, two authorities."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from tests.factories import Keys, auth, make_authority, platform_keys
from vncomply.kit import clock

# After the Cybersecurity Law 2025 took effect (2026-07-01): 24 h / 3 h deadlines.
T0 = datetime(2026, 11, 25, 3, 0, tzinfo=UTC)
PHONE = "0912345678"
PHONE_E164 = "+84912345678"
OTHER_PHONE = "0987654321"
DOB = date(1990, 5, 17)
NID = "001090123456"  # province 001, male born 1990: agrees with DOB
NAME = "Nguyễn Văn An"
ALL_FIELDS = [
    "full_name",
    "date_of_birth",
    "phone_number",
    "national_id",
    "verification",
    "guardian",
    "account_status",
]


@dataclass
class World:
    a: Keys
    b: Keys
    authority_a: uuid.UUID
    key_a: str
    authority_b: uuid.UUID
    key_b: str


def identity(phone: str | None = PHONE, nid: str | None = NID, name: str = NAME) -> dict[str, Any]:
    body: dict[str, Any] = {
        "full_name": name,
        "date_of_birth": DOB.isoformat(),
        "verification": {"method": "sms_otp", "verified_at": "2026-01-01T00:00:00Z"},
    }
    if phone:
        body["phone_number"] = phone
    if nid:
        body["national_id"] = nid
    return body


async def put_identity(
    client: httpx.AsyncClient, platform_key: str, account_id: str, body: dict[str, Any]
) -> None:
    r = await client.put(f"/v1/identities/{account_id}", json=body, headers=auth(platform_key))
    assert r.status_code in (200, 201), r.text


def request_body(platform_id: uuid.UUID, **over: Any) -> dict[str, Any]:
    b: dict[str, Any] = {
        "platform_id": str(platform_id),
        "reference_no": f"A05/{uuid.uuid4().hex[:10]}",
        "legal_basis": "Cybersecurity Law 2025 Art. 26",
        "urgency": "standard",
        "subject": {"phone_number": PHONE},
        "fields": ["full_name", "date_of_birth", "phone_number"],
        "reason": "Identify the author of posts under investigation",
    }
    b.update(over)
    return b


async def create(client: httpx.AsyncClient, key: str, body: dict[str, Any]) -> dict[str, Any]:
    r = await client.post("/v1/disclosure-requests", json=body, headers=auth(key))
    assert r.status_code == 201, r.text
    return r.json()  # type: ignore[no-any-return]


async def decide(client: httpx.AsyncClient, officer_key: str, request_id: str, **body: Any) -> httpx.Response:
    return await client.post(
        f"/v1/disclosure-requests/{request_id}/decision", json=body, headers=auth(officer_key)
    )


async def package(client: httpx.AsyncClient, key: str, request_id: str) -> httpx.Response:
    return await client.get(f"/v1/disclosure-requests/{request_id}/package", headers=auth(key))


async def build_world(db: AsyncSession, client: httpx.AsyncClient, two_officers: bool) -> World:
    clock.set_now(T0)
    a = await platform_keys(db, "SocialA", two_officers=two_officers)
    b = await platform_keys(db, "SocialB")
    authority_a, key_a = await make_authority(db, "MPS-A05", [a.platform_id, b.platform_id])
    authority_b, key_b = await make_authority(db, "ABEI", [a.platform_id, b.platform_id])
    # Platform A: two accounts share the subject's phone; one has another phone.
    await put_identity(client, a.platform, "a-1", identity())
    await put_identity(client, a.platform, "a-2", identity(nid=None, name="Trần Thị Bình"))
    await put_identity(client, a.platform, "a-3", identity(phone=OTHER_PHONE, nid=None))
    # Platform B: the same phone and ID number belong to one of its users too.
    await put_identity(client, b.platform, "b-1", identity(name="Lê Văn Cường"))
    return World(a, b, authority_a, key_a, authority_b, key_b)


@pytest.fixture
async def world(db: AsyncSession, client: httpx.AsyncClient) -> World:
    return await build_world(db, client, two_officers=False)


@pytest.fixture
async def world2(db: AsyncSession, client: httpx.AsyncClient) -> World:
    """Platform A requires two officers to approve a disclosure."""
    return await build_world(db, client, two_officers=True)

from tests.factories import admin_key, auth


async def test_healthz(client):
    r = await client.get("/healthz")
    assert r.status_code == 200


async def test_create_platform(client, db):
    key = await admin_key(db)
    r = await client.post(
        "/v1/platforms",
        headers=auth(key),
        json={
            "name": "X",
            "legal_name": "X Inc.",
            "contact_point": {"name": "A", "email": "a@example.com", "phone": "+8424000000", "address": "HN"},
            "monthly_vn_visits": 200000,
            "in_scope_since": "2026-10-01",
        },
    )
    assert r.status_code == 201, r.text
    assert r.json()["in_scope"] is True

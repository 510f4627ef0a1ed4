from __future__ import annotations

from fastapi import APIRouter

from vncomply.idempotency.route import IdempotentRoute

router = APIRouter(route_class=IdempotentRoute)

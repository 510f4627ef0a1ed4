"""The disclosure package: the approved fields of the matched accounts, decrypted, for the
requesting authority only. Every fetch is audited, a refused one too."""

from __future__ import annotations

import uuid

from sqlalchemy.ext.asyncio import AsyncSession

from vncomply.audit import service as audit
from vncomply.disclosures.enums import RELEASED_STATUSES
from vncomply.disclosures.identity_source import get_source
from vncomply.disclosures.models import DisclosureRequest
from vncomply.disclosures.review import RESOURCE, WHAT
from vncomply.disclosures.schemas import PackageOut
from vncomply.kit import clock
from vncomply.kit.errors import DomainError, Gone, IllegalTransition
from vncomply.kit.principal import Principal
from vncomply.kit.tenancy import get_scoped


async def package(session: AsyncSession, actor: Principal, request_id: uuid.UUID) -> PackageOut:
    """A refused fetch (not released yet: 409, expired: 410) raises a committing error after its
    audit record (kit.errors): an attempt to reach identity data is worth a trace even when it
    fails."""
    req = await get_scoped(session, DisclosureRequest, request_id, actor, WHAT, for_update=True)
    now = clock.now()
    refusal: DomainError | None = None
    if req.status not in RELEASED_STATUSES or req.package_expires_at is None:
        refusal = IllegalTransition(
            f"No package: the request is {req.status}; a package exists only once an officer "
            "has approved the request (approved or partially_approved).",
            current_state=req.status.value,
        )
    elif now >= req.package_expires_at:
        refusal = Gone(
            f"The package for this request was available until "
            f"{req.package_expires_at.isoformat()} and has expired; ask the platform's "
            "compliance officer through a new request if you still need the data.",
        )
    if refusal is not None:
        audit.record(
            session, actor, "disclosure.package_refused", RESOURCE, req.id, req.platform_id,
            {"reference_no": req.reference_no, "status": req.status, "http_status": refusal.status},
        )  # fmt: skip
        raise refusal.committing()
    assert req.package_expires_at is not None  # released requests always have one (checked above)
    fields = list(req.approved_fields or [])
    records = await get_source().records(session, req.platform_id, list(req.matched_account_ids), fields)
    # Belt and braces: whatever the source returns, only account_id and approved fields go out.
    allowed = {"account_id", *fields}
    accounts = [{k: v for k, v in r.items() if k in allowed} for r in records]
    req.package_fetches += 1
    req.last_fetched_at = now
    audit.record(
        session, actor, "disclosure.package_fetched", RESOURCE, req.id, req.platform_id,
        {"reference_no": req.reference_no, "fields": fields, "accounts": len(accounts),
         "fetch_no": req.package_fetches},
    )  # fmt: skip
    return PackageOut(
        request_id=req.id,
        reference_no=req.reference_no,
        platform_id=req.platform_id,
        fields=fields,
        generated_at=now,
        expires_at=req.package_expires_at,
        accounts=accounts,
    )

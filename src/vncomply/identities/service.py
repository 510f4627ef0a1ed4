"""Identity registry: record (PUT), read, revoke, close, and the officer's blind-index search."""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import (
    Boolean,
    Row,
    TextClause,
    TextualSelect,
    bindparam,
    case,
    literal,
    literal_column,
    select,
)
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from vncomply.audit import service as audit
from vncomply.audit.models import AuditEvent
from vncomply.identities.enums import IdentityStatus, Method, VerificationStatus
from vncomply.identities.keys import bi_keys, ring
from vncomply.identities.models import Identity, PhoneVerification
from vncomply.identities.prepare import COLUMNS, prepare
from vncomply.identities.schemas import IdentityIn, IdentityOut, Masked, SearchIn
from vncomply.identities.validation import (
    ValidationProblem,
    mask_name,
    mask_national_id,
    mask_phone,
    normalize_phone,
    validate_account_id,
)
from vncomply.kit import clock
from vncomply.kit.crypto import aad_for, blind_index, decrypt
from vncomply.kit.db import compiled_once
from vncomply.kit.errors import IllegalTransition, InvalidInput, NotFound
from vncomply.kit.principal import Principal

_UPDATABLE = tuple(c for c in COLUMNS if c not in ("platform_id", "account_id", "created_at"))


# The audit row's columns, bound as ``audit_<column>``; its action depends on what the upsert did.
_AUDITED = ("at", "actor_key_id", "actor_role", "actor_platform_id", "actor_authority_id", "details")
CREATED, REPLACED = "identity.created", "identity.replaced"


def _upsert() -> TextClause | TextualSelect:
    """Create or replace, with every column bound, and write its audit row in the same statement:
    one round trip, and no ORM flush of an audit object at commit (4.94 → 3.97 ms of an upsert's
    API CPU in bench/identities/bench_upsert.py). The row has the table's columns and ``inserted``."""
    ins = insert(Identity).values({c: bindparam(c) for c in COLUMNS})
    up = (
        ins.on_conflict_do_update(
            index_elements=[Identity.platform_id, Identity.account_id],
            set_={c: ins.excluded[c] for c in _UPDATABLE},
        )
        .returning(*Identity.__table__.c, literal_column("(xmax = 0)", Boolean).label("inserted"))
        .cte("up")
    )
    audit_table = AuditEvent.__table__
    trail = (
        insert(AuditEvent)
        .from_select(
            [*_AUDITED, "action", "resource_type", "resource_id", "platform_id"],
            select(
                *(bindparam(f"audit_{c}", type_=audit_table.c[c].type) for c in _AUDITED),
                case((up.c.inserted, literal(CREATED)), else_=literal(REPLACED)),
                literal("identity"),
                up.c.account_id,
                up.c.platform_id,
            ).select_from(up),
        )
        .cte("trail")
    )
    return compiled_once(select(up).add_cte(trail))


_UPSERT = _upsert()


def problem(p: ValidationProblem) -> InvalidInput:
    return InvalidInput(p.message, field=p.field)


def check_account_id(account_id: str) -> str:
    try:
        return validate_account_id(account_id)
    except ValidationProblem as p:
        raise problem(p) from None


@dataclass(frozen=True, slots=True)
class RefCheck:
    ref: uuid.UUID
    account_id: str
    phone_bis: tuple[bytes, ...]  # the identity's phone under every blind-index key in use


async def check_references(
    session: AsyncSession, platform_id: uuid.UUID, checks: Iterable[RefCheck]
) -> dict[uuid.UUID, str]:
    """For references naming our phone verifications: ref → why it does not count.

    A reference that is not one of ours is the platform's own (it may run its own OTP) and passes.
    One query for any number of references, so bulk ingest checks a whole chunk at once.
    """
    wanted = {c.ref: c for c in checks}
    if not wanted:
        return {}
    rows = await session.execute(
        select(
            PhoneVerification.id,
            PhoneVerification.account_id,
            PhoneVerification.phone_bi,
            PhoneVerification.status,
        ).where(
            PhoneVerification.platform_id == platform_id,
            PhoneVerification.id.in_(list(wanted)),
        )
    )
    bad: dict[uuid.UUID, str] = {}
    for vid, account_id, phone_bi, status in rows:
        c = wanted[vid]
        if status != VerificationStatus.confirmed:
            bad[vid] = (
                "verification.reference names a phone verification that was not confirmed; "
                "confirm the code first"
            )
        elif account_id != c.account_id or phone_bi not in c.phone_bis:
            bad[vid] = (
                "verification.reference names a phone verification made for another account or phone number"
            )
    return bad


def to_out(row: Identity) -> IdentityOut:
    kr = ring()

    def dec(field: str, blob: bytes | None) -> str | None:
        if blob is None:
            return None
        return decrypt(kr, blob, aad_for(row.platform_id, row.account_id, field))

    name = dec("full_name", row.full_name_enc) or ""
    phone = dec("phone", row.phone_enc)
    nid = dec("national_id", row.national_id_enc)
    return _out(
        row,
        Masked(
            full_name=mask_name(name),
            phone_number=mask_phone(phone) if phone else None,
            national_id=mask_national_id(nid) if nid else None,
        ),
    )


def _out(row: Identity | Row[Any], masked: Masked) -> IdentityOut:
    today = clock.now().astimezone(clock.VN_TZ).date()
    return IdentityOut(
        account_id=row.account_id,
        status=row.status,
        verified_at=row.verified_at,
        method=Method(row.method),
        is_minor=row.minor_until is not None and today < row.minor_until,
        has_guardian=row.has_guardian,
        commercial_livestreamer=row.commercial_livestreamer,
        masked=masked,
        created_at=row.created_at,
        updated_at=row.updated_at,
        revoked_at=row.revoked_at,
        closed_at=row.closed_at,
        purged_at=row.purged_at,
    )


async def put_identity(
    session: AsyncSession, actor: Principal, account_id: str, body: IdentityIn
) -> tuple[IdentityOut, bool]:
    """Create or replace; returns (identity, created). Re-recording a revoked or closed account
    makes it verified again: the platform has verified the user anew."""
    platform_id = actor.require_platform()
    check_account_id(account_id)
    try:
        prep = prepare(platform_id, account_id, body)
    except ValidationProblem as p:
        raise problem(p) from None
    if prep.otp_reference is not None:
        bad = await check_references(
            session,
            platform_id,
            [RefCheck(prep.otp_reference, account_id, prep.ref_phone_bis)],
        )
        if bad:
            raise InvalidInput(bad[prep.otp_reference], field="verification.reference")
    details = {"method": prep.row["method"], "minor": prep.is_minor}
    # Only the actor's columns and the details are bound; the statement writes the rest from the
    # row (and the action from whether the upsert inserted it).
    trail = audit.columns(actor, CREATED, "identity", account_id, platform_id, details)
    params = {**prep.row, **{f"audit_{c}": trail[c] for c in _AUDITED}}
    row = (await session.execute(_UPSERT, params)).one()
    created = row.inserted
    masked = Masked(
        full_name=prep.masked["full_name"] or "",
        phone_number=prep.masked["phone_number"],
        national_id=prep.masked["national_id"],
    )
    return _out(row, masked), bool(created)


async def _get(
    session: AsyncSession, platform_id: uuid.UUID, account_id: str, *, for_update: bool = False
) -> Identity:
    stmt = select(Identity).where(Identity.platform_id == platform_id, Identity.account_id == account_id)
    if for_update:
        stmt = stmt.with_for_update()
    row = (await session.scalars(stmt)).first()
    if row is None:
        raise NotFound(f"No identity is recorded for account {account_id!r} on this platform.")
    return row


async def get_identity(session: AsyncSession, actor: Principal, account_id: str) -> IdentityOut:
    check_account_id(account_id)
    return to_out(await _get(session, actor.require_platform(), account_id))


async def revoke(session: AsyncSession, actor: Principal, account_id: str) -> IdentityOut:
    """Verification withdrawn: the account may no longer act until verified again."""
    check_account_id(account_id)
    platform_id = actor.require_platform()
    row = await _get(session, platform_id, account_id, for_update=True)
    if row.status == IdentityStatus.closed:
        raise IllegalTransition(
            "The account is closed; a closed account cannot be revoked. Record it again with PUT "
            "if it was reopened.",
            current_state=IdentityStatus.closed,
        )
    if row.status != IdentityStatus.revoked:
        now = clock.now()
        row.status, row.revoked_at, row.updated_at = IdentityStatus.revoked, now, now
        audit.record(session, actor, "identity.revoked", "identity", account_id, platform_id)
    return to_out(row)


async def close(session: AsyncSession, actor: Principal, account_id: str) -> IdentityOut:
    """Account closed. The data is kept (Decree 53: 24 months); ``closed_at`` starts that clock."""
    check_account_id(account_id)
    platform_id = actor.require_platform()
    row = await _get(session, platform_id, account_id, for_update=True)
    if row.status != IdentityStatus.closed:
        now = clock.now()
        row.status, row.closed_at, row.updated_at = IdentityStatus.closed, now, now
        audit.record(session, actor, "identity.closed", "identity", account_id, platform_id)
    return to_out(row)


def _search_nid(raw: str) -> str:
    nid = "".join(raw.split())
    if not nid.isascii() or not nid.isdigit():
        raise InvalidInput("national_id must contain only digits", field="national_id")
    if len(nid) == 9:
        raise InvalidInput(
            "national_id has 9 digits: the old identity card number (CMND) is no longer valid "
            "since 2024-12-31; search by the 12-digit personal identification number",
            field="national_id",
        )
    if len(nid) != 12:
        raise InvalidInput("national_id must have exactly 12 digits", field="national_id")
    return nid


async def search(
    session: AsyncSession, actor: Principal, body: SearchIn, limit: int = 200
) -> list[IdentityOut]:
    """Accounts of the caller's platform using a phone or ID number (blind index; own tenant)."""
    if (body.phone_number is None) == (body.national_id is None):
        raise InvalidInput("send exactly one of phone_number or national_id", field="phone_number")
    platform_id = actor.require_platform()
    keys = bi_keys()  # during a blind-index key rotation rows may be under either key
    if body.phone_number is not None:
        try:
            phone = normalize_phone(body.phone_number)
        except ValidationProblem as p:
            raise problem(p) from None
        cond = Identity.phone_bi.in_([blind_index(k, platform_id, phone) for k in keys])
        by = "phone_number"
    else:
        nid = _search_nid(body.national_id or "")
        cond = Identity.national_id_bi.in_([blind_index(k, platform_id, nid) for k in keys])
        by = "national_id"
    rows = (
        await session.scalars(
            select(Identity)
            .where(Identity.platform_id == platform_id, cond)
            .order_by(Identity.account_id)
            .limit(limit)
        )
    ).all()
    # The lookup itself is a PII access: record who searched, by what kind of key, and the hits.
    audit.record(
        session, actor, "identity.searched", "identity", "-", platform_id,
        {"by": by, "results": len(rows)},
    )  # fmt: skip
    return [to_out(r) for r in rows]

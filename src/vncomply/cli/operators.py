"""Operator commands: `vncomply api-key create`, `platform create`, `authority create`.

They talk to the database directly (VNCOMPLY_DATABASE_URL), each in one transaction, through the
same services as the HTTP API; the audit trail records them as the `system` actor with
`details.via = "cli"` (`common.cli_actor`).
"""

from __future__ import annotations

import uuid
from enum import StrEnum
from typing import TYPE_CHECKING, Annotated

import typer

from vncomply.cli.common import cli_actor, fail, in_session, validate

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncSession

api_key_app = typer.Typer(help="Issue API keys.", no_args_is_help=True)
platform_app = typer.Typer(help="Register platforms (tenants).", no_args_is_help=True)
authority_app = typer.Typer(help="Register authorities.", no_args_is_help=True)


class RoleChoice(StrEnum):
    admin = "admin"
    platform = "platform"
    officer = "officer"
    authority = "authority"


class KindChoice(StrEnum):
    ministry = "ministry"
    provincial = "provincial"
    specialised = "specialised"


@api_key_app.command("create")
def api_key_create(
    role: Annotated[RoleChoice, typer.Option(help="What the key may do.")],
    platform: Annotated[
        uuid.UUID | None, typer.Option(help="Platform id (platform and officer keys).")
    ] = None,
    authority: Annotated[uuid.UUID | None, typer.Option(help="Authority id (authority keys).")] = None,
    name: Annotated[str | None, typer.Option(help="A label to recognise the key by.")] = None,
    holder: Annotated[
        str | None, typer.Option(help="The person who holds the key (required for officer keys).")
    ] = None,
) -> None:
    """Issue an API key. The key is shown once: it is the last line of the output."""
    from vncomply.auth.service import create_key
    from vncomply.kit.principal import Role

    async def work(session: AsyncSession) -> tuple[uuid.UUID, str]:
        key, raw = await create_key(
            session,
            cli_actor(),
            role=Role(role.value),
            name=name or f"{role.value} key (cli)",
            holder=holder,
            platform_id=platform,
            authority_id=authority,
        )
        return key.id, raw

    key_id, raw = in_session(work)
    typer.echo(f"created {role.value} API key {key_id}; store it now, it is not shown again:")
    typer.echo(raw)


@platform_app.command("create")
def platform_create(
    name: Annotated[str, typer.Option(help="Display name.")],
    legal_name: Annotated[str, typer.Option(help="Registered legal name.")],
    contact_name: Annotated[str, typer.Option(help="Form No. 10 contact point: person.")],
    contact_email: Annotated[str, typer.Option(help="Contact point e-mail.")],
    contact_phone: Annotated[str, typer.Option(help="Contact point phone.")],
    contact_address: Annotated[str, typer.Option(help="Contact point address.")],
    monthly_vn_visits: Annotated[int, typer.Option(help="6-month average of monthly visits from Vietnam.")],
    stores_data_in_vn: Annotated[
        bool, typer.Option("--stores-data-in-vn", help="Rents data storage in Vietnam.")
    ] = False,
    in_scope_since: Annotated[str | None, typer.Option(help="Date it came in scope (YYYY-MM-DD).")] = None,
) -> None:
    """Register a platform; prints it as JSON (with its scope status and Form 10 due date)."""
    from vncomply.platforms import service
    from vncomply.platforms.schemas import PlatformCreate

    body = validate(
        PlatformCreate,
        {
            "name": name,
            "legal_name": legal_name,
            "contact_point": {
                "name": contact_name,
                "email": contact_email,
                "phone": contact_phone,
                "address": contact_address,
            },
            "monthly_vn_visits": monthly_vn_visits,
            "stores_data_in_vn": stores_data_in_vn,
            "in_scope_since": in_scope_since,
        },
    )

    async def work(session: AsyncSession) -> str:
        created = await service.create(session, cli_actor(), body)
        return service.to_out(created).model_dump_json(indent=2)

    typer.echo(in_session(work))


@authority_app.command("create")
def authority_create(
    code: Annotated[str, typer.Option(help="Unique code, e.g. ABEI, MPS-A05, DIC-HANOI.")],
    name: Annotated[str, typer.Option(help="Full name.")],
    kind: Annotated[KindChoice, typer.Option(help="Kind of authority.")],
    platform: Annotated[
        list[uuid.UUID] | None, typer.Option(help="A platform it may address (repeatable).")
    ] = None,
    all_platforms: Annotated[
        bool, typer.Option("--all-platforms", help="It may address every platform.")
    ] = False,
) -> None:
    """Register an authority and the platforms it may address; prints it as JSON."""
    from vncomply.authorities import service
    from vncomply.authorities.schemas import AuthorityCreate

    if all_platforms and platform:
        raise fail("give either --platform … or --all-platforms, not both", 2)
    body = validate(
        AuthorityCreate,
        {
            "code": code,
            "name": name,
            "kind": kind.value,
            "platforms": "all" if all_platforms else [str(p) for p in platform or []],
        },
    )

    async def work(session: AsyncSession) -> str:
        created = await service.create(session, cli_actor(), body)
        return service.to_out(created).model_dump_json(indent=2)

    typer.echo(in_session(work))

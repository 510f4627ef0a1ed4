"""Problems and the logs behind them: a 500 is logged under the request id a caller quotes, with a
traceback that holds no personal data; a 422 never echoes an ID or phone number."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from fastapi.responses import StreamingResponse
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.types import Message

from tests.factories import auth, platform_keys
from tests.identities.helpers import NAME, body
from vncomply.app import create_app

PHONE_DIGITS = "912345678"
SECRET_NID = "001090123456"
SECRET = f"+84{PHONE_DIGITS} {NAME} {SECRET_NID}"


def _log_lines(out: str, request_id: str) -> list[str]:
    return [line for line in out.splitlines() if "unhandled_exception" in line and request_id in line]


def _assert_no_pii(out: str) -> None:
    for leak in (PHONE_DIGITS, NAME, SECRET_NID, "commit failed", "stream broke"):
        assert leak not in out, leak


async def test_a_failed_commit_is_logged_with_its_request_id_and_no_personal_data(
    client, db, capsys, monkeypatch
) -> None:
    k = await platform_keys(db)

    async def failing_commit(self: AsyncSession) -> None:
        raise RuntimeError(f"commit failed for {SECRET}")

    monkeypatch.setattr(AsyncSession, "commit", failing_commit)
    r = await client.put(
        "/v1/identities/u-500",
        headers={**auth(k.platform), "X-Request-ID": "rid-commit-500"},
        json=body(national_id=SECRET_NID),
    )
    assert r.status_code == 500, r.text
    assert r.json()["request_id"] == "rid-commit-500"
    out = capsys.readouterr().out
    [line] = _log_lines(out, "rid-commit-500")
    # Where it happened: frames and the exception's type, so the failure can be found and fixed.
    for sign in ("Traceback", "failing_commit", "RuntimeError"):
        assert sign in line, sign
    assert "path=/v1/identities/u-500" in line or '"path": "/v1/identities/u-500"' in line
    _assert_no_pii(out)


async def test_an_error_after_the_response_started_is_logged_too(db, capsys) -> None:
    app = create_app()

    @app.get("/_test/stream")
    async def stream() -> StreamingResponse:
        async def chunks() -> AsyncIterator[bytes]:
            yield b"first chunk\n"
            raise RuntimeError(f"stream broke at {SECRET}")

        return StreamingResponse(chunks())

    # Driven by hand: the app must return (the server then closes the connection, so the caller
    # sees a truncated response) rather than raise into the server, whose own log of the exception
    # would print its message. httpx's test transport cannot represent a truncated response.
    sent: list[Message] = []

    requested = asyncio.Event()

    async def receive() -> Message:
        if requested.is_set():  # the client stays connected: later reads wait
            await asyncio.Event().wait()
        requested.set()
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: Message) -> None:
        sent.append(message)

    scope = {
        "type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "GET",
        "scheme": "http", "path": "/_test/stream", "raw_path": b"/_test/stream", "query_string": b"",
        "root_path": "", "headers": [(b"host", b"t"), (b"x-request-id", b"rid-mid-stream")],
        "client": ("127.0.0.1", 1), "server": ("t", 80),
    }  # fmt: skip
    await app(scope, receive, send)
    start, *bodies = sent
    assert (b"x-request-id", b"rid-mid-stream") in start["headers"]  # what the caller quotes
    assert bodies
    assert bodies[-1].get("more_body", False) is True  # never marked complete
    captured = capsys.readouterr()
    [line] = _log_lines(captured.out, "rid-mid-stream")
    assert "chunks" in line
    assert "RuntimeError" in line
    _assert_no_pii(captured.out + captured.err)


def test_the_traceback_keeps_frames_and_types_and_drops_messages() -> None:
    from vncomply.kit.logs import safe_traceback

    def lookup(phone: str) -> None:
        raise KeyError(phone)

    try:
        try:
            lookup("+84912345678")
        except KeyError as exc:
            raise ValueError("while storing +84912345678") from exc
    except ValueError as exc:
        text = safe_traceback(exc)
    for sign in ("lookup", "builtins.KeyError", "builtins.ValueError"):
        assert sign in text, sign
    assert PHONE_DIGITS not in text


def _said(r: httpx.Response) -> str:
    """What a 422 tells the caller, less the request id (hex, it may hold any digits)."""
    doc = r.json()
    for error in doc.get("errors", ()):
        assert set(error) <= {"field", "message", "code"}, error  # never pydantic's `input` or `ctx`
    return json.dumps({k: doc.get(k) for k in ("title", "detail", "errors")}, ensure_ascii=False)


CASES: list[tuple[dict[str, Any], tuple[str, ...]]] = [
    # (identity fields, what must not be said): the digits a message used to quote.
    ({"national_id": "003296017777"}, ("003", "3296", "7777")),  # not a province code
    ({"national_id": "001296017777"}, ("is 2", "2000s", "1990", "7777")),  # century disagrees
    ({"national_id": "001196017777"}, ("..96", "96 but", "1990", "7777")),  # year disagrees
    ({"national_id": "0011960177779"}, ("7777", "1960")),  # 13 digits
    ({"national_id": 1196017777}, ("7777",)),  # not even a string
    ({"phone_number": "+14155557777"}, ("(+1", "+1,", "4155", "7777")),  # foreign
    ({"phone_number": "+84 24 3825 7777"}, ("3825", "7777")),  # landline
    ({"phone_number": "09x5557777"}, ("5557", "7777")),  # not a number
    ({"phone_number": 84915557777}, ("5557", "7777")),
]


@pytest.mark.parametrize(("over", "unsaid"), CASES)
async def test_validation_never_echoes_an_id_or_phone_number(client, db, over, unsaid) -> None:
    k = await platform_keys(db)
    fields = {"phone_number": None, "no_vn_mobile_attested": True} if "national_id" in over else {}
    r = await client.put("/v1/identities/u-1", headers=auth(k.platform), json=body(**{**fields, **over}))
    assert r.status_code == 422, r.text
    said = _said(r)
    for fragment in unsaid:
        assert fragment not in said, (fragment, said)
    # The same in a search.
    search = await client.post("/v1/identities/search", headers=auth(k.officer), json=over)
    if search.status_code == 422:
        said = _said(search)
        for fragment in unsaid:
            assert fragment not in said, (fragment, said)

"""Typed domain errors. Each carries its HTTP status and RFC 9457 problem type; one handler renders
them all as ``application/problem+json`` (see ``vncomply.kit.problems``).

Errors that commit. A raised error normally rolls the request's transaction back: nothing the
request did is kept. A few refusals must keep what led to them — the audit record of a refused
disclosure-package fetch, the attempt a wrong OTP code spent — or the refusal would undo its own
trace (and a wrong code could be retried for free). Such an error is raised like any other, marked
as committing: per class (``commits = True``, e.g. ``identities.otp.WrongCode``) or per raise
(``raise Gone(...).committing()``). The transaction owner honours the mark: ``kit.db.get_session``
(and ``session_scope``) *commits* and then re-raises, so the problem is rendered by the one handler
as usual, after the side effects are durable; if that commit fails, the answer is the commit's
error (500/503), never the problem. Everything the request wrote commits, so mark only errors
raised after the service has written just what must be kept. On an ``@idempotent`` route the
request's idempotency claim is released, not committed (nothing was created; a retry runs again).
"""

from __future__ import annotations

from typing import Any, Self

PROBLEM_BASE = "https://vncomply.dev/problems/"


class DomainError(Exception):
    status: int = 400
    slug: str = "bad-request"
    title: str = "Bad request"
    # True: the request's transaction commits before this error is answered (module docstring).
    commits: bool = False

    def __init__(
        self,
        detail: str,
        *,
        extra: dict[str, Any] | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(detail)
        self.detail = detail
        self.extra = extra or {}
        self.headers = headers or {}

    @property
    def type_uri(self) -> str:
        return PROBLEM_BASE + self.slug

    def committing(self) -> Self:
        """This error, marked so that the request's side effects commit before it is answered."""
        self.commits = True
        return self


class InvalidInput(DomainError):
    """Input that parsed but breaks a rule (422). With ``field``, it is also listed in ``errors``
    (``{field, message, code}``, the shape of every validation error)."""

    status = 422
    slug = "validation-error"
    title = "Your request is not valid"

    def __init__(self, detail: str, *, field: str | None = None, code: str = "invalid", **kw: Any) -> None:
        errors = kw.pop("errors", None)
        extra = kw.pop("extra", None) or {}
        if errors is None and field is not None:
            errors = [{"field": field, "message": detail, "code": code}]
        if errors is not None:
            extra["errors"] = errors
        super().__init__(detail, extra=extra, **kw)


class Checks:
    """Every problem of a request at once: a service checks all it can, then ``raise_if_any()``, so a
    caller fixes a body in one round trip rather than one problem per try.

        checks = Checks()
        if a is None:
            checks.add("platform_id", "`platform_id` is required")
        ...
        checks.raise_if_any()
    """

    def __init__(self) -> None:
        self.errors: list[dict[str, str]] = []

    def add(self, field: str, message: str, code: str = "invalid") -> None:
        self.errors.append({"field": field, "message": message, "code": code})

    def raise_if_any(self) -> None:
        if not self.errors:
            return
        if len(self.errors) == 1:
            detail = self.errors[0]["message"]
        else:
            detail = f"{len(self.errors)} problems: " + "; ".join(e["message"] for e in self.errors)
        raise InvalidInput(detail, errors=self.errors)


class Unauthenticated(DomainError):
    status = 401
    slug = "unauthenticated"
    title = "Authentication required"

    def __init__(self) -> None:
        # One message for missing, unknown, revoked and expired keys: the caller learns nothing
        # about which keys exist.
        super().__init__(
            "Send a valid, unexpired API key as `Authorization: Bearer vnc_…`.",
            headers={"WWW-Authenticate": 'Bearer realm="vncomply"'},
        )


class Forbidden(DomainError):
    status = 403
    slug = "forbidden"
    title = "Not allowed for this key"


class NotFound(DomainError):
    status = 404
    slug = "not-found"
    title = "Not found"


class Conflict(DomainError):
    status = 409
    slug = "conflict"
    title = "Conflict"


class IllegalTransition(Conflict):
    slug = "illegal-transition"
    title = "Not possible in the current state"

    def __init__(self, detail: str, *, current_state: str) -> None:
        super().__init__(detail, extra={"current_state": current_state})


class Gone(DomainError):
    status = 410
    slug = "gone"
    title = "No longer available"


class PayloadTooLarge(DomainError):
    status = 413
    slug = "payload-too-large"
    title = "Request body too large"


class RateLimited(DomainError):
    status = 429
    slug = "rate-limited"
    title = "Too many requests"


class ServiceUnavailable(DomainError):
    status = 503
    slug = "unavailable"
    title = "Service unavailable"

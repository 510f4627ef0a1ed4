"""Settings, read from the environment with the prefix ``VNCOMPLY_``.

Every key and secret setting is parsed when the settings are read, which every process does first
(``vncomply api|worker|beat|migrate|up``, the CLI's callback): a malformed value stops start-up
with a message that names the variable and never quotes the value, instead of a process that
starts and then answers 500 on every identity write. Outside ``dev`` and ``test`` a missing or
placeholder secret stops start-up too: a production deployment must never run on the keys printed
in the README.
"""

from __future__ import annotations

import re
from datetime import date
from enum import StrEnum
from functools import lru_cache
from typing import Annotated
from urllib.parse import urlsplit

from pydantic import Field, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from vncomply.kit.crypto import KeyRing, decode_key

# Dev/test keys: 32 bytes each, base64url. Refused in prod (see _refuse_placeholders).
DEV_FIELD_KEYS = "dev1:ZGV2LWZpZWxkLWtleS0wMDAwMDAwMDAwMDAwMDAwMDA"
DEV_BLIND_INDEX_KEY = "ZGV2LWJsaW5kLWluZGV4LWtleS0wMDAwMDAwMDAwMDA"
PLACEHOLDERS = frozenset({"", "change-me", "changeme", DEV_FIELD_KEYS, DEV_BLIND_INDEX_KEY})
# Every API key starts with it (auth/service.py makes them; `authenticate` refuses anything else).
API_KEY_PREFIX = "vnc_"
_API_KEY_MAX = 200
_API_KEY_BODY = re.compile(r"[A-Za-z0-9_-]+")
# It travels in an HTTP header: visible ASCII only (no spaces, no line breaks to inject headers).
_HEADER_TOKEN = re.compile(r"[\x21-\x7e]+")
# Identity data is kept at least 24 months (the rulebook's retention rule, Decree 53/2022; a test
# holds the two equal). Only dev and test may purge sooner (0: at once, for tests).
RETENTION_MONTHS_FLOOR = 24


class Env(StrEnum):
    dev = "dev"
    test = "test"
    prod = "prod"


class SmsProvider(StrEnum):
    console = "console"
    http = "http"


def _csv(value: object) -> object:
    if isinstance(value, str):
        return [v.strip() for v in value.split(",") if v.strip()]
    return value


class Settings(BaseSettings):
    # hide_input_in_errors: a validation error (a traceback in any process) never shows a value.
    model_config = SettingsConfigDict(env_prefix="VNCOMPLY_", extra="ignore", hide_input_in_errors=True)

    env: Env = Env.dev
    database_url: str | None = Field(
        default=None, description="postgresql+psycopg://… ; unset → embedded server (`vncomply up`)"
    )
    # A streaming replica for the hot reads and the reports (kit/replica.py); unset → the primary.
    database_read_url: str | None = Field(default=None, description="postgresql+psycopg://… of a replica")
    # The most the replica may be behind for a read to go to it (else the primary answers).
    read_max_lag_seconds: float = Field(default=1.0, gt=0, le=300)
    redis_url: str | None = Field(default=None, description="redis://… ; unset → embedded server")
    redis_key_prefix: str = "vnc"
    field_keys: str = Field(
        default=DEV_FIELD_KEYS,
        description="field-encryption key ring: `id:base64url32bytes,id2:…`",
    )
    field_key_active: str | None = Field(default=None, description="key id new data is sealed with")
    blind_index_key: str = Field(default=DEV_BLIND_INDEX_KEY, description="HMAC key (base64url)")
    # While blind indexes are re-computed under a new key (`vncomply keys rotate`), the old one:
    # lookups match under either key until every row is re-indexed.
    blind_index_key_previous: str | None = Field(default=None, description="HMAC key (base64url)")
    bootstrap_admin_key: str | None = None
    # Sweeps resume within this (+ ~1 s to reconnect) after a broker outage (docs/scaling.md).
    sweep_interval_seconds: float = Field(default=3.0, gt=0, le=3600)
    # Celery: a task past the soft limit is cancelled (its transaction rolls back); past the hard
    # limit its worker process is replaced.
    task_soft_time_limit_seconds: float = Field(default=240.0, gt=0)
    task_time_limit_seconds: float = Field(default=300.0, gt=0)
    log_level: str = "INFO"
    log_json: bool = False
    max_body_bytes: int = Field(default=1_048_576, ge=1024)
    # The NDJSON bulk stream's own caps (it is exempt from max_body_bytes): ~430 bytes a line.
    bulk_max_bytes: int = Field(default=2 * 1024**3, ge=1024)
    bulk_max_lines: int = Field(default=5_000_000, ge=1)
    # Connections a process keeps. Beyond it, SQLAlchemy opens overflow connections and closes
    # them again as soon as they are returned while the pool is full: under load that was a
    # connect and a PostgreSQL backend start per request (the identity upsert's profile showed
    # them), so the pool covers a process's usual concurrency and overflow only bursts.
    db_pool_size: int = Field(default=20, ge=1)
    db_max_overflow: int = Field(default=10, ge=0)
    # The permission check's own pool (plain psycopg, prepared statements): per API process.
    db_read_pool_size: int = Field(default=10, ge=1)
    db_read_timeout_seconds: float = Field(default=5.0, gt=0, le=60)
    # Server-side prepared statements on that pool; off behind a PgBouncer older than 1.21.
    db_read_prepared: bool = True
    # Every ORM session (API requests, tasks, CLI): no statement runs, and no transaction stays
    # open idle, for ever. The hot read pool has its own, shorter statement limit.
    db_statement_timeout_seconds: float = Field(default=30.0, gt=0, le=86_400)
    db_idle_in_transaction_timeout_seconds: float = Field(default=60.0, gt=0, le=86_400)
    db_read_statement_timeout_seconds: float = Field(default=5.0, gt=0, le=600)
    key_cache_seconds: float = Field(default=1.0, ge=0, le=1.0)
    # Rate limits per API key: requests per second with a burst, per role.
    rate_limit_admin: Annotated[list[int], NoDecode] = [50, 100]
    rate_limit_platform: Annotated[list[int], NoDecode] = [2000, 4000]
    rate_limit_officer: Annotated[list[int], NoDecode] = [50, 100]
    rate_limit_authority: Annotated[list[int], NoDecode] = [50, 100]
    # Failed authentications per client address: per second with a burst (then 429).
    auth_failure_limit: Annotated[list[int], NoDecode] = [2, 30]
    idempotency_ttl_seconds: int = Field(default=86_400, ge=60)
    # Spent and expired phone verifications are deleted this long after they expired.
    phone_verification_retention_seconds: int = Field(default=86_400, ge=600)
    # Identities
    national_id_extra_prefixes: Annotated[list[str], NoDecode] = []
    sms_provider: SmsProvider = SmsProvider.console
    sms_http_url: str | None = None
    sms_http_token: str | None = None
    # Webhooks: hosts/CIDRs exempt from the SSRF guard (tests use loopback receivers).
    webhook_allow_private: Annotated[list[str], NoDecode] = []
    webhook_timeout_seconds: float = Field(default=10.0, gt=0, le=60)
    # One tenant cannot crowd out the others: endpoints per platform, and redelivery rows a
    # platform may queue per rolling hour (each endpoint an event goes to counts once).
    webhook_max_endpoints_per_platform: int = Field(default=20, ge=1, le=1000)
    redelivery_max_per_platform: int = Field(default=1000, ge=1)
    disclosure_package_days: int = Field(default=7, ge=1, le=90)
    # Retention: the personal data of identities closed more than this many months ago is purged
    # (identities/retention.py); outside dev/test less than RETENTION_MONTHS_FLOOR is refused.
    retention_months: int = Field(default=RETENTION_MONTHS_FLOOR, ge=0, le=1200)
    # Events whose deliveries have ended, and those deliveries, are deleted after this many days.
    event_retention_days: int = Field(default=90, ge=1, le=3650)
    # Filings: the annual report's due date (MM-DD of the year after the one reported on). No
    # official date was found; the rulebook marks the rule `unconfirmed`.
    annual_report_due: str = Field(default="01-31", pattern=r"^\d{2}-\d{2}$")

    @model_validator(mode="before")
    @classmethod
    def _split_lists(cls, data: object) -> object:
        if isinstance(data, dict):
            for key in (
                "rate_limit_admin",
                "rate_limit_platform",
                "rate_limit_officer",
                "rate_limit_authority",
                "auth_failure_limit",
                "national_id_extra_prefixes",
                "webhook_allow_private",
            ):
                if key in data:
                    data[key] = _csv(data[key])
        return data

    @model_validator(mode="after")
    def _annual_report_due_is_a_date(self) -> Settings:
        month, day = (int(v) for v in self.annual_report_due.split("-"))
        try:
            date(2001, month, day)  # not a leap year: 02-29 would not exist most years
        except ValueError:
            raise ValueError(
                "VNCOMPLY_ANNUAL_REPORT_DUE must be a day of the year as MM-DD (02-29 is refused: "
                "most years have none)"
            ) from None
        return self

    @property
    def annual_report_due_month_day(self) -> tuple[int, int]:
        month, day = (int(v) for v in self.annual_report_due.split("-"))
        return month, day

    @model_validator(mode="after")
    def _check_secrets(self) -> Settings:
        self.validate_secrets()
        self._retention_floor()
        if self.task_time_limit_seconds <= self.task_soft_time_limit_seconds:
            raise ValueError(
                "VNCOMPLY_TASK_TIME_LIMIT_SECONDS must exceed VNCOMPLY_TASK_SOFT_TIME_LIMIT_SECONDS "
                "(the soft limit cancels the task cleanly first)"
            )
        return self

    def validate_secrets(self) -> None:
        """Parse every key and secret setting; a ``ValueError`` names the bad variable and says
        what is wrong with it, never what it holds."""

        def bad(name: str, why: str) -> ValueError:
            return ValueError(f"VNCOMPLY_{name.upper()} is malformed: {why}")

        self._refuse_placeholders()
        try:
            ring = KeyRing.from_spec(self.field_keys)
        except ValueError as exc:
            raise bad("field_keys", str(exc)) from None
        if self.field_key_active is not None and self.field_key_active not in ring:
            raise bad("field_key_active", "it names no key id of VNCOMPLY_FIELD_KEYS")
        hmac_keys = {"blind_index_key": self.blind_index_key}
        if self.blind_index_key_previous:  # "" is unset, as for keys.bi_keys
            hmac_keys["blind_index_key_previous"] = self.blind_index_key_previous
        for name, value in hmac_keys.items():
            try:
                decode_key(value)
            except ValueError as exc:
                raise bad(name, str(exc)) from None
        token = self.sms_http_token
        if token and not _HEADER_TOKEN.fullmatch(token):
            raise bad("sms_http_token", "it must be visible ASCII characters, without spaces or line breaks")
        if self.sms_provider is SmsProvider.http:
            url = urlsplit(self.sms_http_url or "")
            if url.scheme not in ("http", "https") or not url.hostname:
                raise bad("sms_http_url", "VNCOMPLY_SMS_PROVIDER=http needs an http(s):// URL of the gateway")
        key = self.bootstrap_admin_key
        if key:  # "" is unset (prod refuses it above)
            body = key.removeprefix(API_KEY_PREFIX)
            if not key.startswith(API_KEY_PREFIX) or not _API_KEY_BODY.fullmatch(body):
                raise bad(
                    "bootstrap_admin_key",
                    f"it must start with {API_KEY_PREFIX!r} followed by base64url characters; make one "
                    f'with: {API_KEY_PREFIX}"$(vncomply keys generate)"',
                )
            if not 32 <= len(key) <= _API_KEY_MAX:
                raise bad("bootstrap_admin_key", f"it must be 32 to {_API_KEY_MAX} characters long")

    def _retention_floor(self) -> None:
        if self.env is Env.prod and self.retention_months < RETENTION_MONTHS_FLOOR:
            raise ValueError(
                f"VNCOMPLY_RETENTION_MONTHS={self.retention_months} is below the legal minimum of "
                f"{RETENTION_MONTHS_FLOOR} months (Decree 53/2022); set {RETENTION_MONTHS_FLOOR} or more"
            )

    def _refuse_placeholders(self) -> None:
        if self.env is not Env.prod:
            return
        for name in ("field_keys", "blind_index_key"):
            if getattr(self, name).strip() in PLACEHOLDERS:
                raise ValueError(
                    f"VNCOMPLY_{name.upper()} is missing or a placeholder; set a real secret "
                    "(generate one with `vncomply keys generate`)"
                )
        for name in ("database_url", "redis_url"):
            if not getattr(self, name):
                raise ValueError(f"VNCOMPLY_{name.upper()} must be set when VNCOMPLY_ENV=prod")
        if self.bootstrap_admin_key in PLACEHOLDERS:
            raise ValueError("VNCOMPLY_BOOTSTRAP_ADMIN_KEY is a placeholder")

    @property
    def is_dev(self) -> bool:
        return self.env is Env.dev


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings()


def reset_settings() -> None:
    """Forget cached settings (tests and `vncomply up` change the environment)."""
    get_settings.cache_clear()

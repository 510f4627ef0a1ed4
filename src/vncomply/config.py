"""Settings, read from the environment with the prefix ``VNCOMPLY_``.

Outside ``dev`` and ``test`` a missing or placeholder secret stops start-up with a message that names
the variable: a production deployment must never run on the keys printed in the README.
"""

from __future__ import annotations

from enum import StrEnum
from functools import lru_cache
from typing import Annotated

from pydantic import Field, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

# Dev/test keys: 32 bytes each, base64url. Refused in prod (see _refuse_placeholders).
DEV_FIELD_KEYS = "dev1:ZGV2LWZpZWxkLWtleS0wMDAwMDAwMDAwMDAwMDAwMDA"
DEV_BLIND_INDEX_KEY = "ZGV2LWJsaW5kLWluZGV4LWtleS0wMDAwMDAwMDAwMDA"
PLACEHOLDERS = frozenset({"", "change-me", "changeme", DEV_FIELD_KEYS, DEV_BLIND_INDEX_KEY})


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
    model_config = SettingsConfigDict(env_prefix="VNCOMPLY_", extra="ignore")

    env: Env = Env.dev
    database_url: str | None = Field(
        default=None, description="postgresql+psycopg://… ; unset → embedded server (`vncomply up`)"
    )
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
    sweep_interval_seconds: float = Field(default=5.0, gt=0, le=3600)
    log_level: str = "INFO"
    log_json: bool = False
    max_body_bytes: int = Field(default=1_048_576, ge=1024)
    db_pool_size: int = Field(default=10, ge=1)
    db_max_overflow: int = Field(default=10, ge=0)
    # The permission check's own pool (plain psycopg, prepared statements): per API process.
    db_read_pool_size: int = Field(default=10, ge=1)
    db_read_timeout_seconds: float = Field(default=5.0, gt=0, le=60)
    # Server-side prepared statements on that pool; off behind a PgBouncer older than 1.21.
    db_read_prepared: bool = True
    key_cache_seconds: float = Field(default=1.0, ge=0, le=1.0)
    # Rate limits per API key: requests per second with a burst, per role.
    rate_limit_admin: Annotated[list[int], NoDecode] = [50, 100]
    rate_limit_platform: Annotated[list[int], NoDecode] = [2000, 4000]
    rate_limit_officer: Annotated[list[int], NoDecode] = [50, 100]
    rate_limit_authority: Annotated[list[int], NoDecode] = [50, 100]
    idempotency_ttl_seconds: int = 86_400
    # Identities
    national_id_extra_prefixes: Annotated[list[str], NoDecode] = []
    sms_provider: SmsProvider = SmsProvider.console
    sms_http_url: str | None = None
    sms_http_token: str | None = None
    # Webhooks: hosts/CIDRs exempt from the SSRF guard (tests use loopback receivers).
    webhook_allow_private: Annotated[list[str], NoDecode] = []
    webhook_timeout_seconds: float = 10.0
    # How long a claimed delivery stays leased to its sender: after a crash it is sent again once
    # this has passed. Keep it above what a claimed batch can take (CLAIM_BATCH / lanes x timeout).
    webhook_lease_seconds: float = Field(default=60.0, ge=1, le=3600)
    disclosure_package_days: int = Field(default=7, ge=1, le=90)

    @model_validator(mode="before")
    @classmethod
    def _split_lists(cls, data: object) -> object:
        if isinstance(data, dict):
            for key in (
                "rate_limit_admin",
                "rate_limit_platform",
                "rate_limit_officer",
                "rate_limit_authority",
                "national_id_extra_prefixes",
                "webhook_allow_private",
            ):
                if key in data:
                    data[key] = _csv(data[key])
        return data

    @model_validator(mode="after")
    def _refuse_placeholders(self) -> Settings:
        if self.env is not Env.prod:
            return self
        for name in ("field_keys", "blind_index_key"):
            if getattr(self, name).strip() in PLACEHOLDERS:
                raise ValueError(
                    f"VNCOMPLY_{name.upper()} is missing or a placeholder; set a real secret "
                    "(generate one with `vncomply keys generate`)"
                )
        for name in ("database_url", "redis_url"):
            if not getattr(self, name):
                raise ValueError(f"VNCOMPLY_{name.upper()} must be set when VNCOMPLY_ENV=prod")
        key = self.bootstrap_admin_key
        if key is not None and (key in PLACEHOLDERS or len(key) < 32):
            raise ValueError("VNCOMPLY_BOOTSTRAP_ADMIN_KEY is a placeholder or shorter than 32 characters")
        return self

    @property
    def is_dev(self) -> bool:
        return self.env is Env.dev


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings()


def reset_settings() -> None:
    """Forget cached settings (tests and `vncomply up` change the environment)."""
    get_settings.cache_clear()

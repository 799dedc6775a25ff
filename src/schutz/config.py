"""Settings: one object, read from SCHUTZ_* environment variables, built at the edges only."""

from functools import cache, cached_property
from pathlib import Path
from typing import Literal

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

BUNDLED_POLICY_DIR = Path(__file__).parent / "policy" / "data"


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="SCHUTZ_", extra="ignore")

    data_dir: Path = Field(default=Path("schutz-data"), description="Where state lives.")
    database_url: str | None = Field(
        default=None, description="SQLAlchemy URL; default SQLite in the data directory."
    )
    policy: Path = Field(
        default=BUNDLED_POLICY_DIR,
        description="A policy file, or a directory of policy versions (one YAML file each).",
    )
    smtp_url: str | None = None
    outbox_keep_days: int = Field(
        default=7,
        ge=0,
        description="Days a sent or dead mail to a subject stays in the outbox (retention run).",
    )
    master_key_file: Path | None = None
    audit_key_file: Path | None = Field(
        default=None, description="The audit chain's MAC key; default audit.key in data_dir."
    )
    trusted_proxies: str = "127.0.0.1,::1"
    base_url: str = "http://127.0.0.1:8000"
    secure_cookies: bool = False
    demo: bool = Field(
        default=False, description="Serve the demo shop and sandbox processors (serve --demo)."
    )
    max_body_bytes: int = Field(
        default=1024 * 1024, description="Larger request bodies are refused with 413."
    )
    # Rate limits: "N/S" lets N requests through per S seconds per client network (/24 or
    # /48) and route group, as a token bucket; "off" lifts a limit. See web/limits.py.
    rate_limit_staff_login: str = "30/600"
    rate_limit_magic_link: str = "30/600"
    rate_limit_contact: str = "30/600"
    rate_limit_newsletter: str = "30/600"
    rate_limit_requests: str = "30/600"
    rate_limit_collect: str = "1200/60"
    rate_limit_visitor_consents: str = "120/60"
    sites: str = Field(default="", description="Embedding sites: shop=https://a,https://b;blog=…")
    log_level: Literal["debug", "info", "warning", "error"] = Field(
        default="info", description="debug, info, warning or error (JSON lines on stderr)."
    )
    metrics_token: str | None = Field(
        default=None,
        description="Bearer token that opens /metrics to any client (else trusted proxies only).",
    )

    @cached_property
    def resolved_database_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite:///{(self.data_dir / 'schutz.db').resolve()}"

    @property
    def trusted_proxy_set(self) -> frozenset[str]:
        # Read on every request (request id, beacon address): parsed once per distinct value.
        return _address_set(self.trusted_proxies)

    @property
    def outbox_dir(self) -> Path:
        return self.data_dir / "outbox"


@cache
def _address_set(listed: str) -> frozenset[str]:
    """The comma-separated addresses of `listed` (a setting's value, so few distinct ones)."""
    return frozenset(p.strip() for p in listed.split(",") if p.strip())

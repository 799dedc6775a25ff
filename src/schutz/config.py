"""Settings: one object, read from SCHUTZ_* environment variables, built at the edges only."""

from functools import cached_property
from pathlib import Path

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
    master_key_file: Path | None = None
    trusted_proxies: str = "127.0.0.1,::1"
    base_url: str = "http://127.0.0.1:8000"
    secure_cookies: bool = False
    demo: bool = Field(
        default=False, description="Serve the demo shop and sandbox processors (serve --demo)."
    )

    @cached_property
    def resolved_database_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite:///{(self.data_dir / 'schutz.db').resolve()}"

    @property
    def trusted_proxy_set(self) -> frozenset[str]:
        return frozenset(p.strip() for p in self.trusted_proxies.split(",") if p.strip())

    @property
    def outbox_dir(self) -> Path:
        return self.data_dir / "outbox"

"""Server configuration from the environment (prefix ``FHIRTRIAL_``), https://hl7.org/fhir/R4/http.html."""
from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from pydantic_settings import BaseSettings, SettingsConfigDict

REPO_ROOT = Path(__file__).resolve().parents[1]


class Settings(BaseSettings):
    """All knobs of the server; every one can be set as ``FHIRTRIAL_<NAME>``."""

    model_config = SettingsConfigDict(env_prefix="FHIRTRIAL_", extra="ignore")

    database_url: str = "sqlite:///./fhirtrial.db"
    # The server's public base URL; when unset it is derived from each request (Host header) + base_path.
    base_url: str | None = None
    base_path: str = "/fhir"
    api_token: str | None = None
    # Only for local testing: accept writes without a token when none is configured.
    allow_anonymous_writes: bool = False
    max_body_bytes: int = 16 * 1024 * 1024
    default_count: int = 20
    max_count: int = 1000
    mappings_dir: Path = REPO_ROOT / "mappings"
    examples_dir: Path = REPO_ROOT / "examples"
    export_dir: Path = Path("./export")
    export_batch_size: int = 1000  # resources per read of a Bulk Data $export job
    export_batch_delay_s: float = 0.0  # a throttle after each batch, for tests and demos
    export_stale_s: float = 60.0  # a running job with no heartbeat for this long is taken over
    export_retention_h: float = 24.0  # finished jobs and their files are removed this long after; 0 = kept
    # Plain reads served from memory until the next commit (SQLite only; store/read_cache.py). 0 turns it off.
    read_cache_mb: int = 64
    # "error": reject invalid writes; "warning": store and report.
    validation: str = "error"

    @property
    def open_mode(self) -> bool:
        """Local testing: no token configured and anonymous writes allowed, so anyone may write and read
        everything, patient data included (rest/auth.py)."""
        return not self.api_token and self.allow_anonymous_writes

    @property
    def export_retention_s(self) -> float:
        return self.export_retention_h * 3600


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings()

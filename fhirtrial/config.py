"""Server configuration from the environment (prefix ``FHIRTRIAL_``), typed and validated once at start-up
(https://docs.pydantic.dev/latest/concepts/pydantic_settings/); a bad value is one clear line, not a 500 later."""
from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Any, Literal
from urllib.parse import urlsplit

from platformdirs import user_data_dir
from pydantic import (DirectoryPath, Field, NonNegativeFloat, NonNegativeInt, PositiveFloat, PositiveInt,
                      ValidationError, field_validator, model_validator)
from pydantic_settings import BaseSettings, SettingsConfigDict
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

PACKAGE_DIR = Path(__file__).resolve().parent
# The source checkout; only generators read from it (node_modules), never the running server.
REPO_ROOT = PACKAGE_DIR.parent
MAPPINGS_DIR = PACKAGE_DIR / "mappings"  # shipped inside the package (wheel included)
PREFIX = "FHIRTRIAL_"


def default_data_dir() -> Path:
    """Where the default database and export files live when FHIRTRIAL_DATA_DIR is unset: the user's data
    directory (e.g. ~/.local/share/fhirtrial), whatever the working directory."""
    return Path(user_data_dir("fhirtrial", appauthor=False))


class SettingsError(ValueError):
    """The environment sets a value the server cannot run with; the message is one line naming the variable."""


class Settings(BaseSettings):
    """All knobs of the server; every one can be set as ``FHIRTRIAL_<NAME>``."""

    model_config = SettingsConfigDict(env_prefix=PREFIX, extra="ignore", validate_default=True)

    # The default database and the export files go here (a relative value is taken from the working directory).
    data_dir: Path = Field(default_factory=default_data_dir)
    # Unset: sqlite:///<data_dir>/fhirtrial.db.
    database_url: str = ""
    # The server's public base URL; when unset it is derived from each request (Host header) + base_path.
    base_url: str | None = None
    base_path: str = "/fhir"
    api_token: str | None = None
    # Only for local testing: accept writes without a token when none is configured.
    allow_anonymous_writes: bool = False
    max_body_bytes: PositiveInt = 16 * 1024 * 1024
    default_count: PositiveInt = 20
    max_count: PositiveInt = 1000
    mappings_dir: DirectoryPath = MAPPINGS_DIR
    export_dir: Path | None = None  # unset: <data_dir>/export
    export_batch_size: PositiveInt = 1000  # resources per read of a Bulk Data $export job
    export_batch_delay_s: NonNegativeFloat = 0.0  # a throttle after each batch, for tests and demos
    export_stale_s: PositiveFloat = 60.0  # a running job with no heartbeat for this long is taken over
    export_retention_h: NonNegativeFloat = 24.0  # finished jobs and their files are removed this long after; 0 = kept
    # Plain reads served from memory until the next commit by anyone (store/read_cache.py). 0 turns it off.
    read_cache_mb: NonNegativeInt = 64
    # Every write path (REST, batch/transaction, $import-ctgov, fhirtrial import): "error" rejects invalid
    # resources; "warning" stores those whose only errors are bindings, invariants or references, and reports them.
    validation: Literal["error", "warning"] = "error"
    # One line per request (method, path, status, milliseconds) from `fhirtrial serve`.
    request_log: bool = True

    @field_validator("data_dir", "export_dir")
    @classmethod
    def _absolute(cls, value: Path | None) -> Path | None:
        return None if value is None else value.expanduser().absolute()

    @field_validator("database_url")
    @classmethod
    def _database(cls, value: str) -> str:
        if not value:
            return value
        try:
            url = make_url(value)
        except ArgumentError:
            raise ValueError("not a database URL (sqlite:///path/file.db or postgresql://user@host/db)") from None
        backend = url.get_backend_name()
        if backend not in ("sqlite", "postgresql", "postgres"):
            raise ValueError(f"unsupported database {backend!r}: use sqlite or postgresql")
        if backend == "sqlite" and url.database in (None, "", ":memory:"):
            raise ValueError("SQLite needs a file (sqlite:///path/file.db); in-memory databases are not supported")
        return value

    @field_validator("base_url")
    @classmethod
    def _base_url(cls, value: str | None) -> str | None:
        if value is None or value == "":
            return None
        parts = urlsplit(value)
        if parts.scheme not in ("http", "https") or not parts.netloc or parts.query or parts.fragment:
            raise ValueError("must be an absolute http(s) URL without query or fragment, e.g. "
                             "https://fhir.example.org/fhir")
        return value.rstrip("/")

    @field_validator("base_path")
    @classmethod
    def _base_path(cls, value: str) -> str:
        if not value.startswith("/") or any(c in value for c in "?#% "):
            raise ValueError("must be a URL path starting with '/', e.g. /fhir")
        return value

    @model_validator(mode="after")
    def _complete(self) -> Settings:
        if self.default_count > self.max_count:
            raise ValueError(f"FHIRTRIAL_DEFAULT_COUNT ({self.default_count}) is larger than "
                             f"FHIRTRIAL_MAX_COUNT ({self.max_count})")
        if not self.database_url:
            self.database_url = f"sqlite:///{self.data_dir / 'fhirtrial.db'}"
        if self.export_dir is None:
            self.export_dir = self.data_dir / "export"
        return self

    @property
    def open_mode(self) -> bool:
        """Local testing: no token configured and anonymous writes allowed, so anyone may write and read
        everything, patient data included (rest/auth.py)."""
        return not self.api_token and self.allow_anonymous_writes

    @property
    def export_retention_s(self) -> float:
        return self.export_retention_h * 3600


_SECRET = {"api_token"}


def _shown(field: str, value: Any) -> str:
    if field in _SECRET:
        return "(hidden)"
    if field == "database_url" and isinstance(value, str):
        try:
            value = make_url(value).render_as_string(hide_password=True)
        except ArgumentError:
            pass
    text = repr(value)
    return text if len(text) <= 80 else text[:77] + "..."


def describe(error: ValidationError) -> str:
    """One line naming each bad variable, its value (secrets hidden) and what it should be."""
    parts = []
    for e in error.errors():
        field = str(e["loc"][0]) if e["loc"] else ""
        message = str(e["msg"]).removeprefix("Value error, ")
        if field:
            parts.append(f"{PREFIX}{field.upper()}={_shown(field, e.get('input'))}: {message}")
        else:
            parts.append(message)
    return "invalid setting: " + "; ".join(parts)


def load_settings(**overrides: Any) -> Settings:
    """Settings from the environment (and ``overrides``); SettingsError with one line when a value is bad."""
    try:
        return Settings(**overrides)
    except ValidationError as exc:
        raise SettingsError(describe(exc)) from None


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return load_settings()

"""Settings are typed and checked once at start-up: a bad FHIRTRIAL_* value is one line naming it, and the default
database lives in the data directory, not the working directory (https://docs.pydantic.dev/latest/concepts/pydantic_settings/)."""
from __future__ import annotations

from pathlib import Path

import pytest

from fhirtrial.config import Settings, SettingsError, default_data_dir, load_settings

BAD = [
    ("FHIRTRIAL_VALIDATION", "warn", "'error' or 'warning'"),
    ("FHIRTRIAL_MAX_COUNT", "0", "greater than 0"),
    ("FHIRTRIAL_DEFAULT_COUNT", "-5", "greater than 0"),
    ("FHIRTRIAL_DEFAULT_COUNT", "2000", "FHIRTRIAL_DEFAULT_COUNT (2000) is larger than FHIRTRIAL_MAX_COUNT (1000)"),
    ("FHIRTRIAL_MAX_BODY_BYTES", "16MB", "valid integer"),
    ("FHIRTRIAL_READ_CACHE_MB", "-1", "greater than or equal to 0"),
    ("FHIRTRIAL_EXPORT_BATCH_SIZE", "0", "greater than 0"),
    ("FHIRTRIAL_EXPORT_STALE_S", "0", "greater than 0"),
    ("FHIRTRIAL_EXPORT_RETENTION_H", "-1", "greater than or equal to 0"),
    ("FHIRTRIAL_ALLOW_ANONYMOUS_WRITES", "maybe", "valid boolean"),
    ("FHIRTRIAL_REQUEST_LOG", "loud", "valid boolean"),
    ("FHIRTRIAL_DATABASE_URL", "mysql://u@h/db", "unsupported database 'mysql'"),
    ("FHIRTRIAL_DATABASE_URL", "sqlite://", "in-memory databases are not supported"),
    ("FHIRTRIAL_DATABASE_URL", "fhirtrial.db", "not a database URL"),
    ("FHIRTRIAL_BASE_URL", "localhost:8000/fhir", "absolute http(s) URL"),
    ("FHIRTRIAL_BASE_URL", "https://x.org/fhir?a=1", "without query"),
    ("FHIRTRIAL_BASE_PATH", "fhir", "starting with '/'"),
    ("FHIRTRIAL_MAPPINGS_DIR", "/nonexistent/mappings", "not point to a directory"),
]


@pytest.mark.parametrize(("name", "value", "says"), BAD, ids=[f"{n}={v}" for n, v, _ in BAD])
def test_a_bad_value_is_one_line_naming_the_variable(monkeypatch: pytest.MonkeyPatch, name: str, value: str,
                                                     says: str) -> None:
    monkeypatch.setenv(name, value)
    with pytest.raises(SettingsError) as info:
        load_settings()
    message = str(info.value)
    assert "\n" not in message and name in message and says in message, message


def test_secrets_are_not_repeated(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FHIRTRIAL_DATABASE_URL", "mysql://user:s3cret@db.example/fhir")
    with pytest.raises(SettingsError) as info:
        load_settings()
    assert "s3cret" not in str(info.value) and "user:***@db.example" in str(info.value)


def test_several_bad_values_are_all_named(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FHIRTRIAL_VALIDATION", "strict")
    monkeypatch.setenv("FHIRTRIAL_MAX_COUNT", "many")
    with pytest.raises(SettingsError) as info:
        load_settings()
    assert "FHIRTRIAL_VALIDATION" in str(info.value) and "FHIRTRIAL_MAX_COUNT" in str(info.value)


def test_good_values_are_typed(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    for name, value in {"FHIRTRIAL_VALIDATION": "warning", "FHIRTRIAL_MAX_COUNT": "50", "FHIRTRIAL_DEFAULT_COUNT": "5",
                        "FHIRTRIAL_BASE_URL": "https://fhir.example.org/fhir/", "FHIRTRIAL_REQUEST_LOG": "false",
                        "FHIRTRIAL_EXPORT_BATCH_DELAY_S": "0.25", "FHIRTRIAL_DATABASE_URL": "postgres://u@h/db",
                        "FHIRTRIAL_MAPPINGS_DIR": str(tmp_path)}.items():
        monkeypatch.setenv(name, value)
    s = load_settings()
    assert (s.validation, s.max_count, s.default_count, s.request_log, s.export_batch_delay_s) == \
        ("warning", 50, 5, False, 0.25)
    assert s.base_url == "https://fhir.example.org/fhir" and s.mappings_dir == tmp_path


def test_the_default_database_follows_the_data_dir_not_the_working_directory(
        monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("FHIRTRIAL_DATA_DIR", str(tmp_path / "data"))
    (tmp_path / "elsewhere").mkdir()
    monkeypatch.chdir(tmp_path / "elsewhere")
    s = load_settings()
    assert s.database_url == f"sqlite:///{tmp_path / 'data' / 'fhirtrial.db'}"
    assert s.export_dir == tmp_path / "data" / "export"
    monkeypatch.chdir(tmp_path)
    assert load_settings().database_url == s.database_url
    monkeypatch.setenv("FHIRTRIAL_DATABASE_URL", "sqlite:////srv/other.db")  # an explicit URL wins
    assert load_settings().database_url == "sqlite:////srv/other.db"


def test_without_a_data_dir_the_users_data_directory_is_used(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.delenv("FHIRTRIAL_DATA_DIR", raising=False)
    monkeypatch.chdir(tmp_path)
    s = Settings()
    assert s.data_dir == default_data_dir() and s.data_dir.is_absolute()
    assert not s.data_dir.is_relative_to(tmp_path) and "fhirtrial" in s.data_dir.name


def test_the_mapping_tables_ship_in_the_package() -> None:
    from fhirtrial import config

    assert Settings().mappings_dir == config.PACKAGE_DIR / "mappings"
    assert (Settings().mappings_dir / "ctgov-model.yaml").is_file()

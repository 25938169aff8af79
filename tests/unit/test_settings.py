"""Settings from the environment: the names deployments carry, validated once."""

from __future__ import annotations

from pathlib import Path

import pytest

from gamedb import ConfigurationError, Settings
from gamedb_schema.urls import normalize_url, redact_url, with_database


def test_sqlalchemy_spelling_is_accepted(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DATABASE_URL", "postgresql+asyncpg://game:pw@db.internal:6432/games")
    settings = Settings.load()
    assert settings.database_url is not None
    assert settings.database_url.get_secret_value() == "postgresql://game:pw@db.internal:6432/games"


def test_pool_defaults_keep_their_meaning(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("DB_POOL_SIZE", "DB_MAX_OVERFLOW", "DATABASE_URL"):
        monkeypatch.delenv(name, raising=False)
    settings = Settings.load()
    assert (settings.db_pool_size, settings.db_max_overflow, settings.max_connections) == (
        10,
        20,
        30,
    )
    assert settings.db_command_timeout > settings.db_statement_timeout > 0


def test_dotenv_file_is_read(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    for name in ("DB_POOL_SIZE", "DATABASE_URL"):
        monkeypatch.delenv(name, raising=False)
    (tmp_path / ".env").write_text("DB_POOL_SIZE=4\nDATABASE_URL=postgres://u@h/d\n")
    settings = Settings.load()
    assert settings.db_pool_size == 4
    assert settings.database_url is not None
    assert settings.database_url.get_secret_value() == "postgresql://u@h/d"


@pytest.mark.parametrize(
    ("overrides", "problem"),
    [
        ({"database_url": "mysql://u@h/d"}, "postgresql://"),
        ({"database_url": "postgresql://u@h:99999999/d"}, "DATABASE_URL"),
        ({"database_url": "postgresql://u@h:abc/d"}, "DATABASE_URL"),
        ({"database_url": "postgresql:///d"}, "no host"),
        ({"db_pool_size": 0}, "DB_POOL_SIZE"),
        ({"db_max_overflow": -1}, "DB_MAX_OVERFLOW"),
        ({"db_command_timeout": 0}, "DB_COMMAND_TIMEOUT"),
    ],
)
def test_bad_settings_name_the_problem(overrides: dict[str, object], problem: str) -> None:
    with pytest.raises(ConfigurationError, match=problem) as caught:
        Settings.load(**overrides)
    assert isinstance(caught.value, ValueError)


def test_password_is_masked_everywhere() -> None:
    url = "postgresql://game:hunter2@db/games"
    settings = Settings.load(database_url=url)
    assert "hunter2" not in repr(settings) and "hunter2" not in str(settings)
    assert redact_url(url) == "postgresql://game:***@db/games"
    with pytest.raises(ConfigurationError) as caught:
        Settings.load(database_url="postgresql://game:hunter2@db:port/games")
    assert "hunter2" not in str(caught.value)


def test_url_helpers() -> None:
    assert normalize_url(" postgres://h/d ") == "postgresql://h/d"
    assert with_database("postgresql://u@/a?host=/tmp", "b") == "postgresql://u@/b?host=/tmp"
    assert redact_url("postgresql://u@h/d") == "postgresql://u@h/d"


@pytest.mark.parametrize("name", ["DB_STATEMENT_TIMEOUT", "DB_COMMAND_TIMEOUT", "DB_POOL_TIMEOUT"])
@pytest.mark.parametrize("value", ["0.0004", "0", "-1", "inf", "nan", "1e300"])
def test_a_timeout_that_would_mean_none_or_overflow_is_refused(
    monkeypatch: pytest.MonkeyPatch, name: str, value: str
) -> None:
    """PostgreSQL counts whole milliseconds, and 0 means no timeout: 0.4 ms must not turn it
    off silently; infinity must not reach int() as an OverflowError."""
    monkeypatch.setenv(name, value)
    with pytest.raises(ConfigurationError, match=name):
        Settings.load()


def test_the_smallest_timeout_is_one_millisecond(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DB_STATEMENT_TIMEOUT", "0.001")
    assert Settings.load().db_statement_timeout == 0.001

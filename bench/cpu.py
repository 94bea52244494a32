"""CPU used, from /proc (Linux): by processes, by a database's PostgreSQL backends, by the machine.

CPU seconds per unit of work are steadier than rates on a shared machine, so benchmarks print
them beside their rates.
"""

from __future__ import annotations

import os
from pathlib import Path

import asyncpg


def seconds(pids: list[int]) -> float:
    """User and system CPU seconds the processes have used so far (Linux /proc; a process
    that is gone counts nothing)."""
    return sum(_cpu_s(pid, gone_ok=True) for pid in pids)


def backends_of(database: str) -> list[int]:
    """The PostgreSQL backends connected to `database` (their process title names it)."""
    pids = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                title = (entry / "cmdline").read_bytes()
            except OSError:
                continue
            if title.startswith(b"postgres: ") and f" {database} ".encode() in title:
                pids.append(int(entry.name))
    return pids


def machine_busy_seconds() -> float:
    """CPU seconds the whole machine has been busy (all cores, /proc/stat: not idle, not iowait)."""
    values = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    return (sum(values) - values[3] - values[4]) / os.sysconf("SC_CLK_TCK")


def _cpu_s(pid: int, children: bool = False, gone_ok: bool = False) -> float:
    """CPU seconds a process used (with `children`: also those it reaped)."""
    try:
        fields = _stat(pid)
    except OSError:
        if gone_ok:  # e.g. a backend that ended meanwhile: its parent counts it now
            return 0.0
        raise
    used = (
        int(fields[11]) + int(fields[12]) + (int(fields[13]) + int(fields[14]) if children else 0)
    )
    return used / os.sysconf("SC_CLK_TCK")


async def postgres_seconds(database: str) -> float:
    """CPU seconds the embedded PostgreSQL server used so far: the postmaster, its backends
    alive and those it reaped. The bench's server serves this bench only."""
    conn = await asyncpg.connect(database)
    try:
        return _server_cpu_s(await conn.fetchval("SELECT pg_backend_pid()"))
    finally:
        await conn.close()


def _server_cpu_s(backend: int) -> float:
    postmaster = _parent(backend)
    assert postmaster is not None
    alive = [
        int(p.name)
        for p in Path("/proc").iterdir()
        if p.name.isdigit() and _parent(int(p.name)) == postmaster
    ]
    return _cpu_s(postmaster, children=True) + sum(_cpu_s(pid, gone_ok=True) for pid in alive)


def _parent(pid: int) -> int | None:
    try:
        return int(_stat(pid)[1])
    except (OSError, ValueError):
        return None


def _stat(pid: int) -> list[str]:
    """The fields of /proc/<pid>/stat after the command name (state first)."""
    return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()

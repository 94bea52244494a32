"""Running a CLI command's async work: an unreachable server is one clear line, not a traceback."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Coroutine
from typing import Any, TypeVar

import asyncpg
import typer
from aiokafka.errors import KafkaConnectionError
from rich.console import Console

T = TypeVar("T")

# Connection refused or unknown host, no broker answering, a database that is not there or
# refuses the credentials: the command cannot start, and says which.
UNREACHABLE = (
    OSError,
    KafkaConnectionError,
    asyncpg.InvalidCatalogNameError,
    asyncpg.InvalidAuthorizationSpecificationError,
    asyncpg.InvalidPasswordError,
)


def run(work: Coroutine[Any, Any, T], *, doing: str | None = None) -> T:
    """`asyncio.run(work)`; when a server cannot be reached, print why and exit with code 2.

    `doing` says what runs, beside a spinner on a terminal (not in a pipe or a log), so a
    command that takes a while shows that it works.
    """
    status = Console(stderr=True).status(doing) if doing else contextlib.nullcontext()
    try:
        with status:
            return asyncio.run(work)
    except UNREACHABLE as exc:
        Console(stderr=True).print(
            f"[red]cannot reach the database or the broker:[/] {type(exc).__name__}: {exc}"
        )
        raise typer.Exit(2) from None

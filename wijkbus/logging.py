"""structlog set-up: JSON lines off a terminal, with `service`, `event_id` and `trace_id` bound."""

from __future__ import annotations

import logging
import sys
import traceback
from collections.abc import Iterator, Mapping, MutableMapping
from contextlib import contextmanager
from types import TracebackType
from typing import Any

import structlog

# Exceptions whose message says what failed, not what came in; every other exception is logged
# by its type (and SQLSTATE) only: a UnicodeEncodeError's repr holds the whole string it could
# not encode, a ValidationError its input, a PostgreSQL error the failing row.
_MESSAGE_KEPT: tuple[type[BaseException], ...] = (OSError, MemoryError, ImportError)


def configure_logging(
    service: str, log_format: str = "auto", level: int | str = logging.INFO
) -> None:
    """Route structlog and stdlib logging to stdout, one event per line, from `level` up
    (a number or a name: "INFO")."""
    if isinstance(level, str):
        level = logging.getLevelNamesMapping()[level.upper()]
    use_json = log_format == "json" or (log_format == "auto" and not sys.stdout.isatty())
    renderer: structlog.typing.Processor = (
        structlog.processors.JSONRenderer() if use_json else structlog.dev.ConsoleRenderer()
    )
    shared: list[structlog.typing.Processor] = [
        structlog.contextvars.merge_contextvars,
        structlog.processors.add_log_level,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
    ]
    structlog.configure(
        processors=[*shared, scrub_exception, renderer],
        wrapper_class=structlog.make_filtering_bound_logger(level),
        logger_factory=structlog.PrintLoggerFactory(sys.stdout),
        cache_logger_on_first_use=True,
    )
    handler = logging.StreamHandler(sys.stdout)
    handler.setFormatter(
        structlog.stdlib.ProcessorFormatter(
            foreign_pre_chain=shared,
            processors=[
                structlog.stdlib.ProcessorFormatter.remove_processors_meta,
                scrub_exception,
                renderer,
            ],
        )
    )
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(logging.WARNING)
    # uvicorn's access log prints URLs; ours carry no personal data, but keep it quiet anyway.
    logging.getLogger("uvicorn.access").setLevel(logging.WARNING)
    structlog.contextvars.clear_contextvars()
    structlog.contextvars.bind_contextvars(service=service)


def scrub_exception(_: Any, __: str, event_dict: MutableMapping[str, Any]) -> Mapping[str, Any]:
    """Render `exc_info` as `exception`: the frames and the exception types, but no message
    that can carry input (no repr of the exception, no locals) — personal data never reaches
    a log through an exception (DESIGN.md, privacy)."""
    exc_info = event_dict.pop("exc_info", None)
    exc = _exception_of(exc_info)
    if exc is not None:
        event_dict["exception"] = safe_traceback(exc)
    return event_dict


def _exception_of(exc_info: Any) -> BaseException | None:
    if exc_info is True:
        exc_info = sys.exc_info()
    if isinstance(exc_info, BaseException):
        return exc_info
    if isinstance(exc_info, tuple) and len(exc_info) == 3:
        return exc_info[1] if isinstance(exc_info[1], BaseException) else None
    return None


def safe_traceback(exc: BaseException) -> str:
    """A traceback of `exc` and its causes that names files, lines and types only."""
    parts: list[str] = []
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        parts.append(_frames(current.__traceback__) + safe_summary(current))
        current = current.__cause__ or current.__context__
    return "\n--- while handling the above, or caused by it ---\n".join(reversed(parts))


def safe_summary(exc: BaseException) -> str:
    """`Type: message` for exceptions whose message is safe; `Type` (SQLSTATE) otherwise."""
    name = type(exc).__qualname__
    if isinstance(exc, _MESSAGE_KEPT):
        return f"{name}: {exc}"
    sqlstate = getattr(exc, "sqlstate", None)
    return f"{name} (SQLSTATE {sqlstate})" if isinstance(sqlstate, str) else name


def _frames(tb: TracebackType | None) -> str:
    lines = [
        f"  File {frame.filename!r}, line {frame.lineno}, in {frame.name}\n"
        for frame in traceback.extract_tb(tb)
    ]
    return "Traceback (most recent call last):\n" + "".join(lines) if lines else ""


@contextmanager
def bound(**values: str | None) -> Iterator[None]:
    """Bind `event_id`, `trace_id`, ... to every log line inside the block."""
    tokens = structlog.contextvars.bind_contextvars(**values)
    try:
        yield
    finally:
        structlog.contextvars.reset_contextvars(**tokens)


def get_logger(name: str | None = None) -> structlog.stdlib.BoundLogger:
    """A structlog logger; the service name is already bound."""
    return structlog.get_logger(name)  # type: ignore[no-any-return]

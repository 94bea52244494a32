"""Run a service app with uvicorn (the body of every `python -m services.<name>`)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import uvicorn
from fastapi import FastAPI

from wijkbus.gc_policy import collect_less
from wijkbus.http_protocol import with_head_timeout
from wijkbus.logging import configure_logging, get_logger
from wijkbus.settings import ServiceSettings

# An idle keep-alive connection is closed after this long. Longer than clients keep theirs
# (httpx: 5 s, as uvicorn's default): else a client that reuses a connection at the moment the
# server closes it gets a ReadError for a request the server never read (a burst of votes did).
KEEP_ALIVE_S = 65


def serve(settings: ServiceSettings, app: FastAPI) -> None:
    """Serve `app` on the settings' host and port until SIGINT/SIGTERM."""
    uvicorn.run(
        app,
        host=settings.host,
        port=settings.port,
        log_config=None,
        access_log=False,
        lifespan="on",
        timeout_graceful_shutdown=5,
        timeout_keep_alive=KEEP_ALIVE_S,
        http=with_head_timeout(settings.header_timeout_s),
    )


def main_for(settings_cls: type[ServiceSettings], build) -> None:  # type: ignore[no-untyped-def]
    """Build settings in main (never at import), then the app, then serve it."""
    settings = settings_cls()
    configure_logging(settings.service_name, settings.log_format, settings.log_level)
    try:
        app = build(settings)
    except (ValueError, OSError) as exc:
        # build() does no I/O but reading config files: a failure here is a configuration error.
        get_logger(__name__).error("refusing to start", reason=str(exc))
        raise SystemExit(f"{settings.service_name} refuses to start: {exc}") from None
    collect_less()  # a service process: batches of thousands of events, few cycles
    serve(settings, app)


@asynccontextmanager
async def serving(
    app: FastAPI, port: int, host: str = "127.0.0.1", *, head_timeout_s: float = 10.0
) -> AsyncIterator[str]:
    """Serve `app` (lifespan included) in this event loop; yield its base URL (tests, benches)."""
    server = uvicorn.Server(
        uvicorn.Config(
            app,
            host=host,
            port=port,
            log_config=None,
            lifespan="on",
            access_log=False,
            timeout_keep_alive=KEEP_ALIVE_S,
            http=with_head_timeout(head_timeout_s),
        )
    )
    task = asyncio.create_task(server.serve())
    deadline = time.monotonic() + 60
    while not server.started:
        if task.done():
            task.result()  # raises the start-up error
            raise RuntimeError("the app stopped during start-up")
        if time.monotonic() > deadline:
            raise TimeoutError("the app did not start within 60 s")
        await asyncio.sleep(0.05)
    try:
        yield f"http://{host}:{port}"
    finally:
        server.should_exit = True
        await task

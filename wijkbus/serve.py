"""Run a service app with uvicorn (the body of every `python -m services.<name>`)."""

from __future__ import annotations

import uvicorn
from fastapi import FastAPI

from wijkbus.logging import configure_logging
from wijkbus.settings import ServiceSettings


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
    )


def main_for(settings_cls: type[ServiceSettings], build) -> None:  # type: ignore[no-untyped-def]
    """Build settings in main (never at import), then the app, then serve it."""
    settings = settings_cls()
    configure_logging(settings.service_name, settings.log_format)
    serve(settings, build(settings))

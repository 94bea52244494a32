"""Swagger UI for every service's OpenAPI, served from the package's own assets.

The CDN files FastAPI's docs page loads by default are blocked by the services' CSP
(`default-src 'self'`), and the docs must work offline: the `fastapi-offline` package ships
Swagger UI 5 (which reads OpenAPI 3.1, as FastAPI writes it; the `swagger-ui-bundle` package's
Swagger UI 4 cannot), mounted under the docs' own path. Only its assets are used, not its app
class. No ReDoc: its search runs in a blob: worker and its logo comes from a CDN, both of which
the CSP refuses.
"""

from __future__ import annotations

from pathlib import Path

import fastapi_offline
from fastapi import FastAPI
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles

DOCS_PATH = "/api/v1/docs"
ASSETS_PATH = f"{DOCS_PATH}/assets"
ASSETS_DIR = Path(fastapi_offline.__file__).parent / "static"


def asset(name: str) -> str:
    """The URL of one of the docs' assets, e.g. swagger-ui-bundle.js."""
    return f"{ASSETS_PATH}/{name}"


def install(app: FastAPI, openapi_url: str) -> None:
    """Serve Swagger UI at /api/v1/docs, its assets under /api/v1/docs/assets."""
    app.mount(ASSETS_PATH, StaticFiles(directory=ASSETS_DIR), name="docs-assets")

    @app.get(DOCS_PATH, include_in_schema=False)
    async def swagger_ui() -> HTMLResponse:
        return get_swagger_ui_html(
            openapi_url=openapi_url,
            title=f"{app.title} — API",
            swagger_js_url=asset("swagger-ui-bundle.js"),
            swagger_css_url=asset("swagger-ui.css"),
            swagger_favicon_url=asset("favicon.png"),
        )

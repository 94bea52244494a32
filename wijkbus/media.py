"""Which request bodies a JSON endpoint takes: JSON, or it answers 415."""

from __future__ import annotations

from fastapi import Request
from fastapi.params import Form


def is_json_media(content_type: str) -> bool:
    """Whether a Content-Type names JSON (application/json or any +json type)."""
    media = content_type.split(";", 1)[0].strip().lower()
    return media == "application/json" or (
        media.startswith("application/") and media.endswith("+json")
    )


def refuses_media(request: Request) -> bool:
    """Whether `request` sent a body that is not JSON to an endpoint that reads a JSON body.

    FastAPI hands such a body to the model as bytes, and the model calls it invalid (400);
    the caller's real mistake is the Content-Type. No Content-Type at all is read as JSON.
    """
    route = request.scope.get("route")
    body_field = getattr(route, "body_field", None)
    if body_field is None or isinstance(body_field.field_info, Form):
        return False
    content_type = request.headers.get("content-type")
    return bool(content_type) and not is_json_media(content_type or "")

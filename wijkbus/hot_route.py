"""A FastAPI route for a hot endpoint: a valid JSON body goes straight to the endpoint.

FastAPI's request handler solves the endpoint's dependencies, validates the body as one of
them, builds an error context and serialises the returned value through `jsonable_encoder`
for every request: about a third of the CPU of a vote. `HotRoute` handles the common case
itself — a JSON body that the body model accepts — with the model's own validation, calls
the endpoint with the model and the request, and renders a plain returned value as JSON with
the route's status code. Everything else (no or another content type, a body that is not
JSON or that the model refuses) is handed to FastAPI's own handler with the body already read,
so every error answer is FastAPI's, as on any other route, and the OpenAPI document is the
same.

Only an endpoint of the form `async def f(body: Model, request: Request)` on a router without
dependencies can be hot: a route with dependencies (authentication, say) is refused when it
is declared, never run without them.
"""

from __future__ import annotations

import json
from typing import Any

from fastapi import Request, Response
from fastapi.responses import JSONResponse
from fastapi.routing import APIRoute
from pydantic import BaseModel, ValidationError


class HotRoute(APIRoute):
    """An APIRoute whose valid JSON bodies skip FastAPI's per-request machinery (see module)."""

    def get_route_handler(self) -> Any:  # called by APIRoute.__init__, once the route is read
        usual = super().get_route_handler()
        model, body_name, request_name = _hot_endpoint(self)
        endpoint, status_code = self.endpoint, self.status_code or 200

        async def handler(request: Request) -> Response:
            body = _valid_body(model, request, await request.body())
            if body is None:
                return await usual(request)  # FastAPI's errors, from the body read once
            result = await endpoint(**{body_name: body, request_name: request})
            if isinstance(result, Response):
                return result
            return JSONResponse(result, status_code=status_code)

        return handler


def _hot_endpoint(route: APIRoute) -> tuple[type[BaseModel], str, str]:
    """The endpoint's body model and the names of its two parameters; TypeError if it has
    others, or dependencies."""
    d = route.dependant
    others = d.path_params + d.query_params + d.header_params + d.cookie_params
    model = d.body_params[0].field_info.annotation if len(d.body_params) == 1 else None
    is_model = isinstance(model, type) and issubclass(model, BaseModel)
    if d.dependencies or others or not is_model or d.request_param_name is None:
        raise TypeError(
            f"{route.path}: a hot route takes one body model and the request, and no dependencies"
        )
    return model, d.body_params[0].name, d.request_param_name  # type: ignore[return-value]


def _valid_body(model: type[BaseModel], request: Request, raw: bytes) -> BaseModel | None:
    """The body as `model`, when it is JSON the model accepts; else None."""
    content_type = request.headers.get("content-type", "")
    if content_type.split(";", 1)[0].strip().lower() != "application/json" or not raw:
        return None
    try:
        return model.model_validate(json.loads(raw))
    except (ValueError, ValidationError):  # JSONDecodeError and UnicodeDecodeError too
        return None

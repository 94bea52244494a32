"""Schemathesis over a running service: every operation in turn, bounded in examples and time."""

from __future__ import annotations

import os
import threading
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from hypothesis import HealthCheck, given, reject, settings
from hypothesis import strategies as st
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.schemas import APIOperation, BaseSchema
from schemathesis.specs.openapi.checks import response_schema_conformance

PROBLEM = "application/problem+json"


@dataclass(frozen=True)
class Caller:
    """Who the generated requests come from: the headers and cookies they all carry."""

    name: str
    headers: dict[str, str] = field(default_factory=dict)
    cookies: dict[str, str] = field(default_factory=dict)


@dataclass
class Tally:
    """What a run sent and got: answers per operation and status, and what the budget skipped."""

    statuses: Counter[tuple[str, int]] = field(default_factory=Counter)
    skipped: int = 0
    seconds: float = 0.0

    def codes(self, label: str) -> set[int]:
        """The statuses one operation ("GET /api/v1/...") answered."""
        return {code for (op, code), _ in self.statuses.items() if op == label}


def fuzz(
    schemas: list[BaseSchema],
    base_url: str,
    callers: list[Caller],
    *,
    max_examples: int = 30,
    budget_s: float = 90.0,
    problem_paths: tuple[str, ...] = ("/api/",),
) -> Tally:
    """Positive and negative cases for every operation of the schemas (the service's document,
    and one pinned to things that exist), as each caller; fail on the first 5xx,
    on an answer that contradicts its documented schema, or on a 4xx of an API path that is
    not problem+json. Past `budget_s` the remaining examples are generated but not sent."""
    operations = [result.ok() for schema in schemas for result in schema.get_all_operations()]
    tally = Tally()
    started = time.monotonic()
    stop = started + budget_s
    for caller in callers:
        for operation in operations:
            _fuzz_one(operation, base_url, caller, max_examples, stop, problem_paths, tally)
    tally.seconds = time.monotonic() - started
    return tally


def _fuzz_one(
    operation: APIOperation,
    base_url: str,
    caller: Caller,
    max_examples: int,
    stop: float,
    problem_paths: tuple[str, ...],
    tally: Tally,
) -> None:
    cases = st.one_of(
        operation.as_strategy(generation_mode=GenerationMode.POSITIVE),
        operation.as_strategy(generation_mode=GenerationMode.NEGATIVE),
    )
    label = f"{operation.method.upper()} {operation.path}"

    @settings(
        max_examples=max_examples,
        deadline=None,
        suppress_health_check=list(HealthCheck),
        database=None,
        # The same examples every run, so CI answers the same for the same code; set
        # WIJKBUS_FUZZ_RANDOM=1 to explore new ones.
        derandomize=not os.environ.get("WIJKBUS_FUZZ_RANDOM"),
    )
    @given(cases)
    def check(case: Any) -> None:
        if time.monotonic() > stop:
            tally.skipped += 1
            return
        try:
            response = case.call(
                base_url=base_url, headers=caller.headers, cookies=caller.cookies, timeout=30
            )
        except ValueError:
            # The client could not even build this request (e.g. requests' cookie jar refusing a
            # generated URL as an "invalid IPv6 URL"): nothing reached the service.
            tally.skipped += 1
            reject()
        tally.statuses[(label, response.status_code)] += 1
        where = f"{caller.name}: {case.method} {case.formatted_path} -> {response.status_code}"
        case.validate_response(
            response,
            checks=[not_a_server_error, response_schema_conformance],
            headers=caller.headers,
            transport_kwargs={"base_url": base_url},
        )
        if 400 <= response.status_code < 500 and operation.path.startswith(problem_paths):
            values = {k.lower(): v for k, v in response.headers.items()}.get("content-type", "")
            media = values[0] if isinstance(values, list) else values
            assert media.startswith(PROBLEM), f"{where}: {media}, not problem+json"

    check()


@contextmanager
def local_receiver() -> Iterator[str]:
    """A webhook endpoint on loopback that answers 204 to every POST: notify's test deliveries."""

    class Answer(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # the name http.server calls
            self.rfile.read(int(self.headers.get("content-length") or 0))
            self.send_response(204)
            self.end_headers()

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Answer)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/hook"
    finally:
        server.shutdown()
        server.server_close()

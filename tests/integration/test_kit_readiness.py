"""/readyz means "processing": a broker of the test's own stops, and routing's /readyz says 503
with a reason per check; the broker comes back (on the same port, empty), and routing is ready
again and assigns new signals. /healthz stays a liveness check throughout."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx

from services.routing.app import RoutingSettings, build
from tests.integration.test_routing_flow import RULES, Clock, Router
from tests.support import demo_registry, eventually, running_app, unique
from wijkbus.infra import EmbeddedBroker


async def _readyz(http: httpx.AsyncClient, status: int) -> dict[str, Any] | None:
    answer = await http.get("/readyz")
    body: dict[str, Any] = answer.json()
    return body if answer.status_code == status else None


async def test_readyz_fails_while_the_broker_is_gone_and_recovers_with_it(
    fresh_database: str, tmp_path: Path
) -> None:
    registry, creds = demo_registry()
    rules = tmp_path / "rules.yaml"
    rules.write_text(RULES)
    broker = EmbeddedBroker().start()
    settings = RoutingSettings(
        database_url=fresh_database,
        kafka_bootstrap_servers=broker.bootstrap,
        operator_token=creds.operator_token,
        rules_file=rules,
        consumer_stall_s=5,
        relay_stall_s=5,
        consumer_watchdog_interval_s=1,
    )
    clock = Clock()
    try:
        async with (
            running_app(build(settings, partners=registry, clock=clock)) as url,
            httpx.AsyncClient(base_url=url, timeout=30) as http,
        ):
            router = Router(http, {}, fresh_database, broker.bootstrap, clock, unique("Straat"))
            first = router.signal()
            await router.send(first)
            await router.assignment(first.signal_id)
            ready = await eventually(lambda: _readyz(http, 200), what="ready")
            assert set(ready["checks"]) >= {
                "database", "broker", "relay", "consumer:signals", "consumer:feedback",
            }  # fmt: skip

            broker.stop()
            down = await eventually(lambda: _readyz(http, 503), what="503 without a broker")
            assert down["status"] == "unavailable"
            assert down["checks"]["database"] == "ok"
            assert down["checks"]["broker"].startswith("failed: "), down
            assert (await http.get("/healthz")).status_code == 200

            broker = EmbeddedBroker(port=broker.port).start()
            await eventually(lambda: _readyz(http, 200), timeout=90, what="ready again")
            second = router.signal()
            await router.send(second)
            await router.assignment(second.signal_id)
    finally:
        broker.stop()

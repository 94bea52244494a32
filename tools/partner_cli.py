"""`wijkbus partner ...`: act as a demo partner back-office against a running stack."""

from __future__ import annotations

import asyncio
import json
import time
from pathlib import Path
from typing import Any

import typer
from aiokafka import AIOKafkaConsumer
from rich.console import Console

from contracts import topics
from tools import simulate
from wijkbus.cli_run import run
from wijkbus.partners import sign
from wijkbus.producing import start_producer

app = typer.Typer(
    help="Send events as a partner (reads .wijkbus/stack.json).", no_args_is_help=True
)
console = Console()
STACK = Path(".wijkbus/stack.json")


def _partner(stack_file: Path, partner_id: str) -> tuple[dict[str, Any], dict[str, Any]]:
    if not stack_file.exists():
        raise typer.BadParameter(f"{stack_file} not found: start the stack with `make run`")
    stack = json.loads(stack_file.read_text())
    for partner in stack["demo_partners"]:
        if partner["id"] == partner_id:
            return stack, partner
    known = ", ".join(p["id"] for p in stack["demo_partners"])
    raise typer.BadParameter(f"no demo partner {partner_id!r}; known: {known}")


async def _publish(
    bootstrap: str, partner: dict[str, Any], bodies: list[bytes], rate: float
) -> None:
    producer = await start_producer(bootstrap, linger_ms=5)
    secret = partner["signing_secret"].encode()
    try:
        started, futures = time.monotonic(), []
        for n, body in enumerate(bodies):
            if rate > 0 and (delay := started + n / rate - time.monotonic()) > 0:
                await asyncio.sleep(delay)
            futures.append(
                await producer.send(
                    topics.partner_events(partner["id"]),
                    body,
                    headers=[
                        ("wijkbus-signature", sign(secret, body).encode()),
                        ("content-type", b"application/cloudevents+json"),
                    ],
                )
            )
        await asyncio.gather(*futures)
    finally:
        await producer.stop()


async def _receipt(bootstrap: str, partner_id: str, event_id: str, within_s: float) -> Any:
    consumer = AIOKafkaConsumer(
        topics.partner_receipts(partner_id),
        bootstrap_servers=bootstrap,
        auto_offset_reset="earliest",
        enable_auto_commit=False,
    )
    await consumer.start()
    try:
        deadline = time.monotonic() + within_s
        while time.monotonic() < deadline:
            for records in (await consumer.getmany(timeout_ms=500)).values():
                for record in records:
                    receipt = json.loads(record.value)
                    if receipt.get("data", {}).get("event_id") == event_id:
                        return receipt
        return None
    finally:
        await consumer.stop()


@app.command()
def send(
    file: Path = typer.Argument(..., exists=True, help="a CloudEvent as JSON"),
    as_partner: str = typer.Option(..., "--as", help="demo partner id"),
    stack_file: Path = typer.Option(STACK, "--stack"),
    timeout: float = typer.Option(30.0, help="seconds to wait for the receipt"),
) -> None:
    """Sign FILE with the partner's secret, publish it on its topic, and print the receipt."""
    stack, partner = _partner(stack_file, as_partner)
    body = file.read_bytes()
    try:
        event_id = json.loads(body).get("id")
    except ValueError:
        event_id = None
    run(_publish(stack["broker"], partner, [body], 0))
    if event_id is None:
        console.print("published; the body is not a JSON object with an id, so no receipt to match")
        raise typer.Exit(1)
    receipt = run(_receipt(stack["broker"], partner["id"], str(event_id), timeout))
    if receipt is None:
        console.print(f"[red]no receipt within {timeout:.0f} s[/]")
        raise typer.Exit(1)
    console.print_json(data=receipt)
    if not receipt["type"].endswith(("geaccepteerd", "duplicaat")):
        raise typer.Exit(1)


@app.command("simulate")
def simulate_command(
    scenario: str = typer.Option("gemengd", help=", ".join(simulate.SCENARIOS)),
    rate: str = typer.Option(
        "50/s", help="events per second, e.g. 200/s (0 = as fast as possible)"
    ),
    count: int = typer.Option(100, min=1),
    as_partner: str = typer.Option("woonstichting-noord", "--as"),
    stack_file: Path = typer.Option(STACK, "--stack"),
    seed: int = typer.Option(0),
) -> None:
    """Publish a realistic stream of signed signals for a scenario."""
    per_second = float(rate.removesuffix("/s"))
    stack, partner = _partner(stack_file, as_partner)
    try:
        bodies = list(simulate.scenario_events(scenario, partner["source"], count, seed=seed))
    except ValueError as exc:
        raise typer.BadParameter(str(exc)) from exc
    started = time.monotonic()
    run(_publish(stack["broker"], partner, bodies, per_second))
    took = time.monotonic() - started
    console.print(
        f"published {count} {scenario} events as {partner['id']} in {took:.1f} s "
        f"({count / took:.0f}/s); receipts on {topics.partner_receipts(partner['id'])}"
    )

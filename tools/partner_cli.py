"""`wijkbus partner ...`: act as a demo partner back-office against a running stack."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from contracts import topics
from tools import simulate
from tools.receipts import ReceiptWatch, Tally
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
    bootstrap: str,
    partner: dict[str, Any],
    bodies: list[bytes],
    rate: float,
    on_sent: Callable[[], None] = lambda: None,
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
            on_sent()
        await asyncio.gather(*futures)
    finally:
        await producer.stop()


async def _send_and_count(
    bootstrap: str,
    partner: dict[str, Any],
    bodies: list[bytes],
    event_ids: list[str],
    *,
    rate: float,
    wait_s: float,
    on_sent: Callable[[], None] = lambda: None,
    on_receipt: Callable[[Tally], None] = lambda _: None,
) -> Tally:
    """Publish, and count the receipts of these events as they come, until all came or
    `wait_s` seconds after the last was published."""
    watch = ReceiptWatch(bootstrap, topics.partner_receipts(partner["id"]), event_ids)
    await watch.start()
    published_at: float | None = None

    def give_up() -> bool:
        return published_at is not None and time.monotonic() > published_at + wait_s

    try:
        counting = asyncio.create_task(watch.wait(give_up, on_receipt))
        try:
            await _publish(bootstrap, partner, bodies, rate, on_sent)
        except BaseException:
            counting.cancel()
            raise
        published_at = time.monotonic()
        return await counting
    finally:
        await watch.stop()


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
        parsed = json.loads(body)
    except ValueError:
        parsed = None
    event_id = parsed.get("id") if isinstance(parsed, dict) else None
    if not isinstance(event_id, str | int):
        run(_publish(stack["broker"], partner, [body], 0))
        console.print("published; the body is not a JSON object with an id, so no receipt to match")
        raise typer.Exit(1)
    with console.status(f"published as {partner['id']}; waiting for the receipt"):
        tally = run(_send_and_count(stack["broker"], partner, [body], [str(event_id)],
                                    rate=0, wait_s=timeout))  # fmt: skip
    if tally.last is None:
        console.print(f"[red]no receipt within {timeout:.0f} s[/]")
        raise typer.Exit(1)
    console.print_json(data=tally.last)
    if tally.refused:
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
    timeout: float = typer.Option(30.0, help="seconds to wait for receipts after the last send"),
) -> None:
    """Publish a realistic stream of signed signals for a scenario; count the receipts."""
    per_second = float(rate.removesuffix("/s"))
    stack, partner = _partner(stack_file, as_partner)
    try:
        bodies = list(simulate.scenario_events(scenario, partner["source"], count, seed=seed))
    except ValueError as exc:
        raise typer.BadParameter(str(exc)) from exc
    event_ids = [json.loads(body)["id"] for body in bodies]
    started = time.monotonic()
    with Progress(
        TextColumn("{task.description:<10}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=console,
        transient=False,
    ) as progress:
        sent = progress.add_task("published", total=count)
        answered = progress.add_task("receipts", total=count)
        tally = run(
            _send_and_count(
                stack["broker"],
                partner,
                bodies,
                event_ids,
                rate=per_second,
                wait_s=timeout,
                on_sent=lambda: progress.advance(sent),
                on_receipt=lambda t: progress.update(answered, completed=t.answered),
            )
        )
    took = time.monotonic() - started
    console.print(
        f"{count} {scenario} events as {partner['id']} in {took:.1f} s: {tally.summary()}",
        soft_wrap=True,
    )
    if tally.missing:
        console.print(
            f"[red]{tally.missing} without a receipt within {timeout:.0f} s[/] "
            f"(on {topics.partner_receipts(partner['id'])})"
        )
        raise typer.Exit(1)

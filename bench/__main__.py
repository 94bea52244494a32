"""`make bench`: each figure beside its raw ceiling, measured in the same run on the same broker.

Every benchmark module in BENCHES has `async def main(backend, quick) -> list[str]` returning the
lines to print; `--only NAME` runs one of them, `--quick` shrinks the workloads for a smoke run.
"""

from __future__ import annotations

import argparse
import asyncio
import importlib
import signal
import tempfile
from pathlib import Path

from wijkbus.infra import start_backend
from wijkbus.logging import configure_logging

BENCHES = [
    "intake_kafka",
    "intake_http",
    "budget_decide",
    "budget_votes",
    "notify_latency",
    "routing_rebuild",
    "audit_verify",
    "codec",
]


def main() -> None:
    """Start a backend, run the benchmarks, print the figures and their ratios."""
    parser = argparse.ArgumentParser(prog="make bench")
    parser.add_argument("--only", choices=BENCHES, action="append", help="run only these")
    parser.add_argument("--quick", action="store_true", help="small workloads (a smoke run)")
    args = parser.parse_args()
    # `timeout` and `kill` send SIGTERM: leave through the `finally`s below and in the
    # benchmarks, so the broker, PostgreSQL and service processes they started are stopped
    # (by default SIGTERM ends Python at once, leaving them running).
    signal.signal(signal.SIGTERM, _terminated)
    configure_logging("bench", "json", level=40)
    with tempfile.TemporaryDirectory() as tmp:
        backend = start_backend(datadir=Path(tmp), keep_data=False)
        try:
            print(f"backend: {backend.description}", flush=True)
            for name in args.only or BENCHES:
                module = importlib.import_module(f"bench.{name}")
                for line in asyncio.run(module.main(backend, args.quick)):
                    print(line, flush=True)
        finally:
            backend.stop()


def _terminated(signum: int, _frame: object) -> None:
    raise SystemExit(128 + signum)


if __name__ == "__main__":
    main()

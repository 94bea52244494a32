"""`make bench`: each figure beside its raw ceiling, measured in the same run on the same broker."""

from __future__ import annotations

import argparse
import asyncio
import tempfile
from pathlib import Path

from bench import intake_kafka
from wijkbus.infra import start_backend
from wijkbus.logging import configure_logging


def main() -> None:
    """Start a backend, run the benchmarks, print the figures and their ratios."""
    parser = argparse.ArgumentParser(prog="make bench")
    parser.add_argument("--count", type=int, default=10_000, help="records per measurement")
    args = parser.parse_args()
    configure_logging("bench", "json", level=40)
    with tempfile.TemporaryDirectory() as tmp:
        backend = start_backend(datadir=Path(tmp), keep_data=False)
        try:
            print(f"backend: {backend.description}")
            result = asyncio.run(intake_kafka.run(backend, args.count))
        finally:
            backend.stop()
    print(
        f"intake over Kafka, {result.count} signals (partner topic -> stored -> signals.accepted)"
    )
    print(f"  raw aiokafka pass-through : {result.raw_per_s:10.0f} records/s")
    print(f"  intake end to end         : {result.intake_per_s:10.0f} records/s")
    print(f"  ratio                     : {result.ratio:10.3f}")


if __name__ == "__main__":
    main()

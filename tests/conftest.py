"""Shared fixtures: the real broker and PostgreSQL every integration and e2e test runs against."""

from __future__ import annotations

import os
import uuid
import warnings
from collections.abc import Iterator
from pathlib import Path

import pytest

from wijkbus.infra import (
    Backend,
    BackendError,
    EmbeddedBroker,
    planned_backend,
    start_backend,
    wait_for_database,
)

TESTS_DIR = Path(__file__).parent
MARKED_FOLDERS = {"integration": "integration", "e2e": "e2e"}


def pytest_configure(config: pytest.Config) -> None:
    """Refuse a misspelt WIJKBUS_TEST_BACKEND before collecting anything."""
    if os.environ.get("PYTEST_XDIST_WORKER"):
        # xdist starts its workers with COLUMNS=80 and LINES=24: rich would then wrap every CLI
        # answer at 80 characters, whatever width a test gives its command.
        os.environ.pop("COLUMNS", None)
        os.environ.pop("LINES", None)
    try:
        planned_backend()
    except BackendError as exc:
        raise pytest.UsageError(str(exc)) from exc


def pytest_report_header(config: pytest.Config) -> str:
    """Say which backend the integration and e2e tests will run against."""
    return f"wijkbus backend: {planned_backend()}"


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Mark tests by folder, so `-m "not integration and not e2e"` selects the unit tests."""
    for item in items:
        try:
            folder = Path(item.path).resolve().relative_to(TESTS_DIR.resolve()).parts[0]
        except ValueError:
            continue
        if folder in MARKED_FOLDERS:
            item.add_marker(getattr(pytest.mark, MARKED_FOLDERS[folder]))


@pytest.fixture(scope="session")
def backend(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Backend]:
    """The broker and database for the whole session; a missing component fails, never skips."""
    datadir = tmp_path_factory.mktemp("backend")
    running = start_backend(datadir=datadir, keep_data=False)
    try:
        yield running
    finally:
        _say_why_postgres_is_gone(running, datadir / "pg" / "log")
        running.stop()


def _say_why_postgres_is_gone(running: Backend, log: Path) -> None:
    """When the embedded server no longer answers at the end, print the end of its log before
    its data directory (and the log) is deleted: every later test failed on it."""
    if not log.exists():
        return
    try:
        wait_for_database(running.database_url, timeout=3)
    except BackendError:
        tail = "\n".join(log.read_text(errors="replace").splitlines()[-40:])
        # A warning: pytest prints it in its summary, after every test's output.
        warnings.warn(
            f"embedded PostgreSQL stopped answering; the end of its log:\n{tail}", stacklevel=2
        )


@pytest.fixture
def kafka_bootstrap(backend: Backend) -> Iterator[str]:
    """A broker of the test's own where the backend is embedded Tansu; the shared one otherwise.

    A Tansu starts in well under a second and keeps its topics in memory, so no record, consumer
    group or late publish of one test can reach another. An external or containerised broker
    is shared by the session: tests then position their own consumer groups at the topics' end
    (`tests.support.groups_at_end`).
    """
    if not backend.embedded_broker:
        yield backend.bootstrap
        return
    with EmbeddedBroker() as broker:
        yield broker.bootstrap


@pytest.fixture(scope="session")
def database_url(backend: Backend) -> str:
    """The DSN of the server's maintenance database; tests should use `fresh_database`."""
    return backend.database_url


@pytest.fixture
def fresh_database(backend: Backend) -> Iterator[str]:
    """An empty database of this test's own, dropped afterwards."""
    name = f"test_{uuid.uuid4().hex}"
    url = backend.create_database(name)
    try:
        yield url
    finally:
        backend.drop_database(name)

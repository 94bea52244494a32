"""An exception in a log line names its type and frames, never the input it was raised over."""

from __future__ import annotations

import logging

import pytest

from tests.support import service_logging
from wijkbus.logging import get_logger, safe_summary

CANARY = "Jantje Canarie-Pietersen"
EVENT = '{"data": {"person": {"name": "' + CANARY + ' \ud800"}}}'


def _crash_on_the_event() -> None:
    try:
        EVENT.encode()  # UnicodeEncodeError: its repr holds the whole event
    except UnicodeEncodeError as exc:
        raise ValueError(f"could not store {EVENT!r}") from exc


def test_a_crash_over_an_event_logs_no_part_of_it(
    caplog: pytest.LogCaptureFixture, capsys: pytest.CaptureFixture[str]
) -> None:
    with service_logging("intake", keep=caplog.handler):
        try:
            _crash_on_the_event()
        except ValueError:
            # As uvicorn logs an exception in an app, and as our own code would.
            logging.getLogger("uvicorn.error").exception("Exception in ASGI application")
            get_logger(__name__).exception("handling failed")
            get_logger(__name__).error("handling failed again", exc_info=True)
    out = capsys.readouterr().out
    assert out.count("UnicodeEncodeError") == 3 and out.count("ValueError") == 3
    assert "_crash_on_the_event" in out  # the frames are still there for the developer
    assert CANARY not in out
    # structlog's own lines go to stdout only; uvicorn's goes through the stdlib as well, and
    # its exception is rendered by the service's formatter (stdout above), not by pytest's.
    [record] = caplog.records
    assert CANARY not in record.getMessage()


def test_io_errors_keep_their_message_others_their_type_only() -> None:
    assert safe_summary(FileNotFoundError(2, "No such file", "/etc/x")).endswith("'/etc/x'")
    assert safe_summary(ValueError(CANARY)) == "ValueError"

    class UniqueViolation(Exception):
        sqlstate = "23505"

    assert safe_summary(UniqueViolation(CANARY)).endswith("(SQLSTATE 23505)")

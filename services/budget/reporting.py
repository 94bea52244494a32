"""What budget tells: a count and a log line per vote (a ballot in a round, a household's
support for an initiative) — the buurt and what was voted on, never the code or the household."""

from __future__ import annotations

from prometheus_client import Counter, Histogram

from wijkbus.logging import get_logger

log = get_logger(__name__)

VOTES = Counter(
    "wijkbus_budget_votes_total",
    "Votes cast: approval ballots in a round, supports of an initiative",
    ["kind"],
)

BALLOT_BATCHES = Histogram(
    "wijkbus_budget_ballot_batch_size",
    "Ballots the ballot box cast together in one batch (group commit)",
    buckets=(1, 2, 4, 8, 16, 32, 64, 128, 256),
)


def ballot_cast(round_id: str, buurt_code: str) -> None:
    """A household's ballot was stored in an open round."""
    VOTES.labels("ballot").inc()
    log.info("ballot cast", round_id=round_id, buurt_code=buurt_code)


def ballots_batched(ballots: int) -> None:
    """The ballot box cast `ballots` ballots together."""
    BALLOT_BATCHES.observe(ballots)


def support_given(initiative_id: str, buurt_code: str, funded: bool) -> None:
    """A household supported an initiative (and maybe funded it)."""
    VOTES.labels("support").inc()
    log.info("support given", initiative_id=initiative_id, buurt_code=buurt_code, funded=funded)


def exported() -> None:
    """Export both kinds at 0 from the start, so a vote rate is 0 rather than absent."""
    VOTES.labels("ballot")
    VOTES.labels("support")

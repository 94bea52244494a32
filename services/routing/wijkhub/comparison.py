"""A replay's check of the hubs: rebuilt from their decisions, and their evaluations computed
from the rebuilt incidents, must equal live's."""

from __future__ import annotations

import json
from datetime import datetime

import asyncpg

from services.routing.wijkhub import reading
from services.routing.wijkhub.evaluation import evaluate
from wijkbus import replaying
from wijkbus.replaying import Difference

_HUB_COLUMNS = "street_keys, buurt_code, starts_at, ends_at, partners, closed_at, outcome_note"


async def differences(database_url: str, live: str, rebuilt: str) -> list[Difference]:
    """Every hub and evaluation where live and the replay disagree.

    A running hub is evaluated as of the last signal the replay accepted (so what live handled
    after the replay's end is left out); a closed one as of its close, and the evaluation its
    `.closed` event published must equal the one the replay computes.
    """
    live_conn = await _connect(database_url, live)
    rebuilt_conn = await _connect(database_url, rebuilt)
    try:
        found = replaying.differences("wijkhubs", await _hubs(live_conn), await _hubs(rebuilt_conn))
        last = await rebuilt_conn.fetchval("SELECT max(received_at) FROM street_incidents")
        for hub_id, closed_at, published in await rebuilt_conn.fetch(
            "SELECT hub_id, closed_at, evaluation FROM wijkhubs ORDER BY hub_id"
        ):
            as_of = closed_at or last
            if as_of is None:
                continue
            ours = await _evaluation(rebuilt_conn, hub_id, as_of)
            theirs = await _evaluation(live_conn, hub_id, as_of)
            found += replaying.differences("wijkhub_evaluations", {hub_id: theirs}, {hub_id: ours})
            if published is not None:
                sent = {hub_id: json.loads(published)}
                found += replaying.differences("wijkhub_closed", sent, {hub_id: ours})
        return found
    finally:
        await live_conn.close()
        await rebuilt_conn.close()


async def _connect(database_url: str, schema: str) -> asyncpg.Connection:
    return await asyncpg.connect(database_url, server_settings={"search_path": schema})


async def _hubs(conn: asyncpg.Connection) -> dict[str, object]:
    rows = await conn.fetch(f"SELECT hub_id, {_HUB_COLUMNS} FROM wijkhubs")
    return {r["hub_id"]: tuple(r)[1:] for r in rows}


async def _evaluation(conn: asyncpg.Connection, hub_id: str, as_of: datetime) -> object:
    inputs = await reading.report_inputs(conn, hub_id, as_of)
    if inputs is None:
        return None
    _, period, hub, comparison, others = inputs
    return evaluate(period, hub, comparison, others, as_of).model_dump(mode="json")

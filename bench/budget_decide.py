"""Deciding rounds with greedy and with equal shares (add1), beside pabutools, and from the CLI.

pabutools is a test-only dependency and is imported only here and in the tests. Each figure is
our time; the ceiling is pabutools' time on the same round in the same run; the ratio is ours
divided by theirs (below 1: we are faster). Parsing is timed apart from deciding. Rounds: the
largest file in ../shared/data and a synthetic city-scale round (20,000 ballots x 80 projects).
Then a 10,000-ballot round is imported into PostgreSQL and decided with `wijkbus budget decide`
(the first decision after the import, as a new user would run it).
"""

from __future__ import annotations

import asyncio
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from typer.testing import CliRunner

from bench.synthetic_round import synthetic_round
from services.budget import cli, pb_rounds
from services.budget.domain import Election, equal_shares, greedy
from services.budget.pabulib import parse_path, to_election
from wijkbus.infra import Backend

PABULIB = Path("/work/shared/data/pabulib")


def _largest() -> Path:
    return max(PABULIB.glob("*.pb"), key=lambda p: len(parse_path(p).votes))


def _timed(fn: Callable[[], Any], repeat: int) -> tuple[float, Any]:
    best, result = float("inf"), None
    for _ in range(repeat):
        start = time.perf_counter()
        result = fn()
        best = min(best, time.perf_counter() - start)
    return best, result


def _as_pabutools(election: Election) -> tuple[Any, Any]:
    from pabutools.election import Instance, Project
    from pabutools.election.ballot import ApprovalBallot
    from pabutools.election.profile import ApprovalProfile

    projects = {p.project_id: Project(p.project_id, p.cost) for p in election.projects}
    instance = Instance(projects.values(), budget_limit=election.budget)
    profile = ApprovalProfile([ApprovalBallot(projects[i] for i in b) for b in election.ballots])
    return instance, profile


def _rules(election: Election, instance: Any, profile: Any, repeat: int) -> list[str]:
    from pabutools.election import Cost_Sat
    from pabutools.rules import greedy_utilitarian_welfare, method_of_equal_shares

    rules: list[tuple[str, Callable[[], Any], Callable[[], Any]]] = [
        (
            "greedy",
            lambda: greedy(election),
            lambda: greedy_utilitarian_welfare(instance, profile, sat_class=Cost_Sat),
        ),
        (
            "equalshares/add1",
            lambda: equal_shares(election),
            lambda: method_of_equal_shares(
                instance, profile, sat_class=Cost_Sat, voter_budget_increment=1
            ),
        ),
    ]
    lines = []
    for name, ours_fn, theirs_fn in rules:
        ours, outcome = _timed(ours_fn, repeat)
        theirs, reference = _timed(theirs_fn, repeat)
        # pabutools' greedy also funds unvoted projects that fit; ours never does.
        supported = {i for b in election.ballots for i in b}
        same = set(outcome.selected) == {p.name for p in reference} & supported
        lines.append(
            f"  {name:<16} ours {ours:8.3f} s   pabutools {theirs:8.3f} s   "
            f"ratio {ours / theirs:6.3f}   same winners: {same}"
        )
    return lines


def _measure_file(path: Path, repeat: int) -> list[str]:
    from pabutools.election import parse_pabulib

    ours_parse, election = _timed(lambda: to_election(parse_path(path)), repeat)
    theirs_parse, (instance, profile) = _timed(lambda: parse_pabulib(str(path)), repeat)
    assert isinstance(election, Election)
    return [
        f"budget_decide: {path.name}, {len(election.ballots)} ballots, "
        f"{len(election.projects)} projects, best of {repeat}",
        f"  parse            ours {ours_parse:8.3f} s   pabutools {theirs_parse:8.3f} s   "
        f"ratio {ours_parse / theirs_parse:6.3f}",
        *_rules(election, instance, profile, repeat),
    ]


def _measure_synthetic(ballots: int, projects: int) -> list[str]:
    election = synthetic_round(ballots, projects)
    instance, profile = _as_pabutools(election)
    return [
        f"budget_decide: synthetic round, {ballots} ballots, {projects} projects, best of 1",
        *_rules(election, instance, profile, 1),
    ]


def _round_file(election: Election, path: Path) -> None:
    """Write the election as a .pb file, as a municipality would hand it over."""
    lines = ["META", "key;value", "description;Synthetische ronde", f"budget;{election.budget}",
             "vote_type;approval", "rule;greedy", "PROJECTS", "project_id;cost;name"]  # fmt: skip
    lines += [f"{p.project_id};{p.cost};Project {p.project_id}" for p in election.projects]
    lines += ["VOTES", "voter_id;vote"]
    lines += [f"v{i};{','.join(sorted(b))}" for i, b in enumerate(election.ballots)]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


def _from_the_cli(backend: Backend, ballots: int) -> list[str]:
    url = backend.create_database(f"bench_decide_{time.time_ns()}")
    with tempfile.TemporaryDirectory(prefix="bench_decide_") as tmp:
        path = Path(tmp) / "synthetic.pb"
        election = synthetic_round(ballots, 80, seed=7)
        _round_file(election, path)
        return _cli_figures(url, path, election)


def _cli_figures(url: str, path: Path, election: Election) -> list[str]:
    env = {"DATABASE_URL": url, "COLUMNS": "200"}
    start = time.perf_counter()
    imported = CliRunner().invoke(cli.app, ["import-pb", str(path), "--round-id", "stad"], env=env)
    import_s = time.perf_counter() - start
    assert imported.exit_code == 0, imported.output
    start = time.perf_counter()
    decided = CliRunner().invoke(cli.app, ["decide", "stad"], env=env)
    decide_s = time.perf_counter() - start
    assert decided.exit_code == 0, decided.output
    start = time.perf_counter()
    decision = asyncio.run(pb_rounds.decide_round(url, "stad", None))
    again_s = time.perf_counter() - start
    assert decision.stored and isinstance(decision.outcome.selected, tuple)
    in_memory = greedy(election).selected  # never went through the file or the database
    return [
        f"budget_decide: `wijkbus budget decide` on a {len(election.ballots)}-ballot round "
        f"({len(election.projects)} projects), "
        "first decision after import-pb",
        f"  import-pb {import_s:6.3f} s   decide (the CLI command in-process: load + greedy + "
        f"store + table) "
        f"{decide_s:6.3f} s   decide_round again {again_s:6.3f} s   "
        f"same winners as in memory: {in_memory == decision.outcome.selected}",
    ]


async def main(backend: Backend, quick: bool) -> list[str]:
    """Seconds to decide rounds with both rules beside pabutools, and greedy from the CLI."""
    path = PABULIB / "Netherlands_Assen_2024.pb" if quick else _largest()
    lines = await asyncio.to_thread(_measure_file, path, 1 if quick else 3)
    size = (2000, 40) if quick else (20000, 80)
    lines += await asyncio.to_thread(_measure_synthetic, *size)
    lines += await asyncio.to_thread(_from_the_cli, backend, 1000 if quick else 10000)
    return lines

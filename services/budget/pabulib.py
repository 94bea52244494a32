"""A pure parser for pabulib `.pb` files (sections META, PROJECTS, VOTES; `;`-separated, quoted)."""

from __future__ import annotations

import csv
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from types import MappingProxyType

from services.budget import pabulib_meta as rules
from services.budget.domain import Election, Project
from services.budget.domain.ballot_rules import ballot_breaches, project_breaches
from services.budget.pabulib_meta import PabulibError, whole_number

__all__ = ["PabulibError", "PbFile", "breaches", "parse_path", "parse_text", "to_election"]

SECTIONS = ("meta", "projects", "votes")
APPROVAL_TYPES = ("approval", "choose-1")


@dataclass(frozen=True)
class PbProject:
    """One row of PROJECTS: its id, cost, categories and every other column as text."""

    project_id: str
    cost: int
    name: str
    categories: tuple[str, ...]
    fields: Mapping[str, str]


@dataclass(frozen=True)
class PbVote:
    """One row of VOTES: the voter and the projects on their approval ballot, in file order."""

    voter_id: str
    approved: tuple[str, ...]


@dataclass(frozen=True)
class PbFile:
    """A whole pabulib election: META as text, the projects and the approval ballots."""

    meta: Mapping[str, str]
    projects: tuple[PbProject, ...]
    votes: tuple[PbVote, ...]

    @property
    def budget(self) -> int:
        """The budget (META `budget`)."""
        return whole_number(self.meta["budget"], "budget")

    @property
    def vote_type(self) -> str:
        """The ballot type (META `vote_type`), e.g. approval or choose-1."""
        return self.meta.get("vote_type", "")

    @property
    def rule(self) -> str:
        """The rule the municipality used (META `rule`), e.g. greedy or equalshares/add1."""
        return self.meta.get("rule", "")


def parse_path(path: Path) -> PbFile:
    """Parse a `.pb` file from disk (UTF-8, with or without a byte-order mark)."""
    return parse_text(path.read_text(encoding="utf-8-sig"))


def parse_text(text: str) -> PbFile:
    """Parse the text of a `.pb` file."""
    rows: dict[str, list[dict[str, str]]] = {s: [] for s in SECTIONS}
    section, header = "", list[str]()
    reader = csv.reader(text.splitlines(), delimiter=";")
    for row in reader:
        if not row or (len(row) == 1 and not row[0].strip()):
            continue
        if row[0].strip().lower() in SECTIONS:
            section = row[0].strip().lower()
            header = [h.strip() for h in next(reader, [])]
            continue
        if not section:
            raise PabulibError(f"line {reader.line_num}: data before any section")
        if len(row) != len(header):
            raise PabulibError(
                f"line {reader.line_num}: {len(row)} fields for {len(header)} columns"
            )
        rows[section].append({k: v.strip() for k, v in zip(header, row, strict=True)})
    meta = MappingProxyType({r["key"]: r["value"] for r in rows["meta"]})
    if "budget" not in meta:
        raise PabulibError("META has no budget")
    projects = tuple(_project(r) for r in rows["projects"])
    votes = tuple(_vote(r, meta.get("vote_type", "")) for r in rows["votes"])
    _check_references(projects, votes)
    return PbFile(meta=meta, projects=projects, votes=votes)


def to_election(pb: PbFile, leftover_within_caps: bool | None = None) -> Election:
    """The domain view of the file with every rule its META declares; refuse what we cannot run.

    `leftover_within_caps` overrides what the comment says about leftover funding and caps.
    """
    rules.check_keys(pb.meta)
    for key, count in (("num_projects", len(pb.projects)), ("num_votes", len(pb.votes))):
        if key in pb.meta and whole_number(pb.meta[key], key) != count:
            raise PabulibError(f"META {key} is {pb.meta[key]}, the file has {count}")
    caps = rules.caps_of(pb.meta)
    category_caps = caps.pop("category", {})
    for attribute in caps:
        if any(attribute not in p.fields for p in pb.projects):
            raise PabulibError(f"budget_per_{attribute} needs a {attribute} column in PROJECTS")
    return Election(
        budget=pb.budget,
        projects=tuple(
            Project(p.project_id, p.cost, frozenset(p.categories), _attributes(p, sorted(caps)))
            for p in pb.projects
        ),
        ballots=tuple(frozenset(v.approved) for v in pb.votes),
        category_caps=MappingProxyType(category_caps),
        attribute_caps=MappingProxyType({a: MappingProxyType(c) for a, c in caps.items()}),
        leftover=rules.leftover_of(pb.meta),
        leftover_within_caps=rules.leftover_within_caps(pb.meta, leftover_within_caps),
    )


def _attributes(p: PbProject, attributes: list[str]) -> tuple[tuple[str, frozenset[str]], ...]:
    """The project's value of each capped attribute (one value: its column's text)."""
    return tuple((a, frozenset({v}) if (v := p.fields[a].strip()) else frozenset())
                 for a in attributes)  # fmt: skip


def breaches(pb: PbFile) -> dict[str, list[str]]:
    """Per META bound the file's own ballots or projects break, the voters or projects that do."""
    bounds = rules.ballot_rules(pb.meta)
    projects = {p.project_id: Project(p.project_id, p.cost, frozenset(p.categories))
                for p in pb.projects}  # fmt: skip
    found: dict[str, list[str]] = {}
    for project in projects.values():
        for breach in project_breaches(bounds, project):
            found.setdefault(breach.rule, []).append(project.project_id)
    for vote in pb.votes:
        for rule in {b.rule for b in ballot_breaches(bounds, projects, set(vote.approved))}:
            if not rule.endswith("project_cost"):
                found.setdefault(rule, []).append(vote.voter_id)
    return found


def _project(row: dict[str, str]) -> PbProject:
    raw_categories = row.get("category") or row.get("categories") or ""
    categories = tuple(
        c.strip() for c in raw_categories.split(",") if c.strip() and c.strip().lower() != "none"
    )
    return PbProject(
        project_id=row["project_id"],
        cost=whole_number(row["cost"], f"cost of project {row['project_id']}"),
        name=row.get("name", ""),
        categories=categories,
        fields=MappingProxyType(dict(row)),
    )


def _vote(row: dict[str, str], vote_type: str) -> PbVote:
    if vote_type not in APPROVAL_TYPES:
        raise PabulibError(f"vote_type {vote_type!r} is not an approval ballot")
    approved = tuple(p.strip() for p in row.get("vote", "").split(",") if p.strip())
    return PbVote(voter_id=row["voter_id"], approved=approved)


def _check_references(projects: tuple[PbProject, ...], votes: tuple[PbVote, ...]) -> None:
    ids = {p.project_id for p in projects}
    if len(ids) != len(projects):
        raise PabulibError("a project id occurs twice in PROJECTS")
    voters = {v.voter_id for v in votes}
    if len(voters) != len(votes):
        raise PabulibError("a voter id occurs twice in VOTES")
    for vote in votes:
        unknown = set(vote.approved) - ids
        if unknown:
            raise PabulibError(f"voter {vote.voter_id} approves unknown projects {sorted(unknown)}")

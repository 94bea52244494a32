"""Greedy by votes: most-approved first, skipping what does not fit, within category caps."""

from __future__ import annotations

from services.budget.domain.election import Election, Outcome, Project, Reason, outcome


def greedy(election: Election) -> Outcome:
    """Fund projects by approval count; ties go to the smaller project id as text (as pabutools).

    A project that no longer fits the budget, or whose category budget is spent, is skipped and
    the next one is tried. With `fill_leftover`, a second pass spends what the category caps left
    over on the skipped projects, again by votes, ignoring the caps. A project without a single
    vote is never funded.
    """
    votes = election.votes()
    # pabutools sorts by name, then stably by score: ties fall to the lexicographically smaller id.
    order = sorted(election.projects, key=lambda p: (-votes[p.project_id], p.project_id))
    remaining = election.budget
    spent_in = dict.fromkeys(election.category_caps, 0)
    chosen: dict[str, Reason] = {}
    lost: dict[str, Reason] = {}
    for project in order:
        if votes[project.project_id] == 0:
            lost[project.project_id] = Reason.GEEN_STEMMEN
        elif project.cost > remaining:
            lost[project.project_id] = Reason.PAST_NIET
        elif not _within_caps(election, spent_in, project):
            lost[project.project_id] = Reason.CATEGORIE_OP
        else:
            chosen[project.project_id] = Reason.GEKOZEN
            remaining -= project.cost
            for category in project.categories & spent_in.keys():
                spent_in[category] += project.cost
    if election.fill_leftover:
        for project in order:
            if lost.get(project.project_id) != Reason.CATEGORIE_OP:
                continue
            if project.cost <= remaining:
                del lost[project.project_id]
                chosen[project.project_id] = Reason.GEKOZEN_RESTBUDGET
                remaining -= project.cost
            else:
                lost[project.project_id] = Reason.CATEGORIE_OP_GEEN_REST
    return outcome("greedy", election, chosen, lost)


def _within_caps(election: Election, spent_in: dict[str, int], project: Project) -> bool:
    caps = election.category_caps
    return all(spent_in[c] + project.cost <= caps[c] for c in project.categories if c in caps)

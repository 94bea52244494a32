"""The buurtbudget's pure funding rules: no I/O, no clock."""

from services.budget.domain.by_votes import greedy
from services.budget.domain.election import (
    Election,
    Leftover,
    Outcome,
    PartialFunding,
    Project,
    ProjectResult,
    Reason,
    UnknownRuleError,
    UnsupportedRuleError,
)
from services.budget.domain.mes import equal_shares
from services.budget.domain.rules import RULES, decide
from services.budget.domain.support import (
    AlreadyPledgedError,
    Pledge,
    SupportDecision,
    accept_pledge,
    majority,
    pledge,
)

__all__ = [
    "RULES",
    "AlreadyPledgedError",
    "Election",
    "Leftover",
    "Outcome",
    "PartialFunding",
    "Pledge",
    "Project",
    "ProjectResult",
    "Reason",
    "SupportDecision",
    "UnknownRuleError",
    "UnsupportedRuleError",
    "accept_pledge",
    "decide",
    "equal_shares",
    "greedy",
    "majority",
    "pledge",
]

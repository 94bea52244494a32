"""Voting codes, household pseudonyms and the guard against guessing codes."""

from __future__ import annotations

from services.budget.codes import code_hash, looks_like_a_code, new_code, normalise, pseudonym
from services.budget.web.guard import CodeGuard


def test_codes_are_long_random_and_forgiving_when_typed() -> None:
    codes = {new_code() for _ in range(1000)}
    assert len(codes) == 1000
    code = next(iter(codes))
    assert len(normalise(code)) == 26 and looks_like_a_code(code)
    typed = code.lower().replace("-", " ").replace("0", "o")
    assert normalise(typed) == normalise(code)
    assert code_hash(typed) == code_hash(code)
    assert not looks_like_a_code("1234") and not looks_like_a_code("U" * 26)


def test_pseudonyms_differ_per_scope_and_key_and_do_not_reveal_the_household() -> None:
    key = b"k" * 32
    a = pseudonym(key, "Groningen:2026", "household-1")
    assert a == pseudonym(key, "Groningen:2026", "household-1")
    assert a != pseudonym(key, "round:groen", "household-1")
    assert a != pseudonym(b"x" * 32, "Groningen:2026", "household-1")
    assert "household" not in a


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_the_guard_allows_a_burst_of_mistakes_then_makes_the_client_wait() -> None:
    clock = Clock()
    guard = CodeGuard(per_minute=6, burst=3, clock=clock)
    for _ in range(3):
        assert guard.wait("1.2.3.4") == 0
        guard.failed("1.2.3.4")
    guard.failed("1.2.3.4")  # the fourth mistake empties the bucket
    assert guard.wait("1.2.3.4") == 10
    assert guard.wait("5.6.7.8") == 0  # another client is not affected
    clock.now += 10
    assert guard.wait("1.2.3.4") == 0

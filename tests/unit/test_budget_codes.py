"""Voting codes and household pseudonyms (the guard against guessing codes, which keeps its
buckets in PostgreSQL: tests/integration/test_kit_shared_rate_limits.py)."""

from __future__ import annotations

from services.budget.codes import code_hash, looks_like_a_code, new_code, normalise, pseudonym


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

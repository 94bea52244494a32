"""The vault's cryptography: seal, open, wrong keys, shredded keys, pseudonymous subjects."""

from __future__ import annotations

import pytest

from wijkbus.vault import PersonErased, Vault, VaultError, new_master_key

PERSON = b'{"name": "Jan de Vries", "phone": "0612345678"}'


def _sealed(vault: Vault, ref: str = "subj_x") -> tuple[bytes, bytes]:
    key, wrapped = vault.new_subject_key(ref)
    return wrapped, vault.seal(key, PERSON, "signal-1")


def test_a_sealed_person_opens_again_with_the_same_master_key() -> None:
    master = new_master_key()
    wrapped, sealed = _sealed(Vault.from_setting(master))
    later = Vault.from_setting(master)  # e.g. after a restart
    assert later.open(later.unwrap("subj_x", wrapped), sealed, "signal-1") == PERSON


def test_the_ciphertext_and_wrapped_key_do_not_contain_the_person() -> None:
    wrapped, sealed = _sealed(Vault.ephemeral())
    assert b"Jan" not in sealed
    assert b"0612345678" not in sealed + wrapped


def test_another_master_key_cannot_unwrap_the_subject_key() -> None:
    wrapped, _ = _sealed(Vault.ephemeral())
    with pytest.raises(VaultError):
        Vault.ephemeral().unwrap("subj_x", wrapped)


def test_a_wrapped_key_is_bound_to_its_subject() -> None:
    vault = Vault.ephemeral()
    wrapped, _ = _sealed(vault, "subj_a")
    with pytest.raises(VaultError):
        vault.unwrap("subj_b", wrapped)


def test_a_sealed_person_is_bound_to_its_signal() -> None:
    vault = Vault.ephemeral()
    key, _ = vault.new_subject_key("subj_x")
    sealed = vault.seal(key, PERSON, "signal-1")
    with pytest.raises(VaultError):
        vault.open(key, sealed, "signal-2")


def test_tampered_ciphertext_is_refused() -> None:
    vault = Vault.ephemeral()
    key, _ = vault.new_subject_key("subj_x")
    sealed = bytearray(vault.seal(key, PERSON, "signal-1"))
    sealed[-1] ^= 1
    with pytest.raises(VaultError):
        vault.open(key, bytes(sealed), "signal-1")


def test_a_shredded_key_means_the_person_is_gone() -> None:
    vault = Vault.ephemeral()
    _, sealed = _sealed(vault)
    with pytest.raises(PersonErased):
        vault.unwrap("subj_x", None)
    with pytest.raises(PersonErased):
        vault.open(None, sealed, "signal-1")


def test_subject_ref_is_stable_for_spelling_and_secret_per_master_key() -> None:
    vault = Vault.ephemeral()
    ref = vault.subject_ref("Jan de Vries", "06-12345678", None)
    assert ref == vault.subject_ref("  jan  DE vries ", "+31 6 1234 5678", None)
    assert ref.startswith("subj_")
    assert "jan" not in ref.casefold()
    assert ref != vault.subject_ref("Jan de Vries", "0687654321", None)
    assert ref != Vault.ephemeral().subject_ref("Jan de Vries", "06-12345678", None)
    by_mail = vault.subject_ref("Jan de Vries", "0612345678", "Jan@Example.nl")
    assert by_mail == vault.subject_ref("jan de vries", None, "jan@example.nl")


@pytest.mark.parametrize("setting", ["", "dG9vLXNob3J0", "not base64 at all!"])
def test_a_bad_master_key_setting_is_refused(setting: str) -> None:
    with pytest.raises(ValueError, match=r"INTAKE_VAULT_KEY|32 bytes"):
        Vault.from_setting(setting)

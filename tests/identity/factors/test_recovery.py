"""Recovery codes in the pure core: their shape, how they are read, and how they are stored."""

import pytest

from identity.factors import recovery


def test_ten_distinct_codes_are_made():
    codes = recovery.new_codes()
    assert len(codes) == 10
    assert len(set(codes)) == 10
    assert all(recovery.normalized(code) == code for code in codes)


@pytest.mark.parametrize("typed", ["ABCDE-FGHJK", " abcde fghjk ", "abcdefghjk", "AbCdE-fGhJk"])
def test_codes_are_read_whatever_their_case_spaces_and_dash(typed):
    assert recovery.normalized(typed) == "abcde-fghjk"


@pytest.mark.parametrize("typed", ["", "abcde-fghj", "abcde-fghjkm", "abcde-fghj1", "123456"])
def test_what_cannot_be_a_code_is_refused(typed):
    assert recovery.normalized(typed) is None


def test_a_code_is_stored_as_a_keyed_hash_bound_to_its_owner():
    digest = recovery.code_hash("abcde-fghjk", email="ann@example.com")
    assert "abcde" not in digest
    assert len(digest) == 64
    assert digest == recovery.code_hash("abcde-fghjk", email="Ann@Example.com")
    assert digest != recovery.code_hash("abcde-fghjk", email="bob@example.com")


def test_the_hash_depends_on_the_secret_key(settings):
    digest = recovery.code_hash("abcde-fghjk", email="ann@example.com")
    settings.SECRET_KEY = "another secret key that is long enough to be one"
    assert recovery.code_hash("abcde-fghjk", email="ann@example.com") != digest

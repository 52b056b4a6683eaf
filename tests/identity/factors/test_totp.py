"""Authenticator-app codes: the RFC 6238 values, the clock-skew window, and replay."""

from datetime import UTC, datetime, timedelta

import pytest

from identity.factors import totp

# RFC 6238 Appendix B's SHA-1 secret ("12345678901234567890"), in base32.
RFC_SECRET = "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ"
NOW = datetime(2030, 1, 1, 12, 0, 15, tzinfo=UTC)
STEP = timedelta(seconds=30)


def test_codes_are_rfc_6238s():
    # Appendix B: T = 59 s gives 94287082 with eight digits; six digits keep the last six.
    assert totp.code_at(RFC_SECRET, datetime.fromtimestamp(59, tz=UTC)) == "287082"
    assert totp.code_at(RFC_SECRET, datetime.fromtimestamp(1111111109, tz=UTC)) == "081804"


def test_the_current_code_is_accepted_for_its_step():
    secret = totp.new_secret()
    code = totp.code_at(secret, NOW)
    assert totp.accepted_step(secret, code, now=NOW, last_step=-1) == totp.time_step(NOW)


@pytest.mark.parametrize("offset", [-1, 1])
def test_one_step_either_side_is_accepted(offset):
    secret = totp.new_secret()
    code = totp.code_at(secret, NOW + offset * STEP)
    assert totp.accepted_step(secret, code, now=NOW, last_step=-1) == totp.time_step(NOW) + offset


@pytest.mark.parametrize("offset", [-2, 2, 10])
def test_codes_outside_the_window_are_refused(offset):
    secret = totp.new_secret()
    code = totp.code_at(secret, NOW + offset * STEP)
    if code in {totp.code_at(secret, NOW + k * STEP) for k in (-1, 0, 1)}:
        pytest.skip("the far code happens to equal one in the window")
    assert totp.accepted_step(secret, code, now=NOW, last_step=-1) is None


def test_a_code_works_once():
    secret = totp.new_secret()
    code = totp.code_at(secret, NOW)
    step = totp.accepted_step(secret, code, now=NOW, last_step=-1)
    assert step is not None
    assert totp.accepted_step(secret, code, now=NOW, last_step=step) is None
    # Nor later in its window.
    assert totp.accepted_step(secret, code, now=NOW + STEP, last_step=step) is None


def test_an_older_code_is_refused_after_a_newer_one():
    secret = totp.new_secret()
    newer = totp.accepted_step(secret, totp.code_at(secret, NOW), now=NOW, last_step=-1)
    older = totp.code_at(secret, NOW - STEP)
    assert newer is not None
    assert totp.accepted_step(secret, older, now=NOW, last_step=newer) is None


def test_the_next_code_is_accepted_after_the_current_one():
    secret = totp.new_secret()
    step = totp.accepted_step(secret, totp.code_at(secret, NOW), now=NOW, last_step=-1)
    assert step is not None
    following = totp.code_at(secret, NOW + STEP)
    assert totp.accepted_step(secret, following, now=NOW, last_step=step) == step + 1


@pytest.mark.parametrize("code", ["", "12345", "1234567", "abcdef", "12 34 5x", "١٢٣٤٥٦"])
def test_malformed_codes_are_refused(code):
    assert totp.accepted_step(RFC_SECRET, code, now=NOW, last_step=-1) is None


def test_a_code_with_a_space_in_the_middle_is_read():
    secret = totp.new_secret()
    code = totp.code_at(secret, NOW)
    spaced = f"{code[:3]} {code[3:]}"
    assert totp.accepted_step(secret, spaced, now=NOW, last_step=-1) == totp.time_step(NOW)


def test_a_code_of_another_secret_is_refused():
    secret, other = totp.new_secret(), totp.new_secret()
    code = totp.code_at(other, NOW)
    if code in {totp.code_at(secret, NOW + k * STEP) for k in (-1, 0, 1)}:
        pytest.skip("the two secrets happen to share a code")
    assert totp.accepted_step(secret, code, now=NOW, last_step=-1) is None


def test_secrets_are_160_random_bits():
    secrets = {totp.new_secret() for _ in range(20)}
    assert len(secrets) == 20
    assert all(len(secret) == 32 for secret in secrets)


def test_the_qr_code_is_an_svg_of_the_provisioning_uri():
    uri = totp.provisioning_uri(RFC_SECRET, account="ann@example.com", issuer="access.localhost")
    assert uri.startswith("otpauth://totp/access.localhost:ann%40example.com?secret=" + RFC_SECRET)
    assert "issuer=access.localhost" in uri
    svg = totp.qr_code_svg(uri)
    assert svg.startswith("<svg")
    assert svg.rstrip().endswith("</svg>")
    assert "<script" not in svg


def test_the_secret_is_shown_in_groups_of_four():
    assert totp.grouped("ABCDEFGHIJ") == "ABCD EFGH IJ"

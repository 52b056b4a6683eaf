"""Second factors at rest: codes used once even when two requests race, and every factor kept
to the person it was enrolled by."""

import base64
import json
from datetime import timedelta

import pytest
from django.utils import timezone

from identity.factors import services, totp
from identity.factors.passkeys import CeremonyFailed
from identity.models import FactorChallenge, SecondFactor

pytestmark = pytest.mark.django_db

STEP = timedelta(seconds=30)


def _confirmed_app(email="ann@example.com"):
    secret = services.totp_begin(email=email)
    now = timezone.now()
    assert services.totp_confirm(email=email, code=totp.code_at(secret, now), now=now) == "valid"
    return secret, now


def test_a_code_raced_by_two_requests_passes_once():
    secret, now = _confirmed_app()
    later = now + STEP
    code = totp.code_at(secret, later)
    stale = SecondFactor.objects.get(email="ann@example.com")  # read before either request
    assert services._take_step(stale, code, later) is True
    # The second request read the factor before the first wrote: the UPDATE still refuses it.
    assert services._take_step(stale, code, later) is False


def test_the_confirming_code_is_spent():
    secret, now = _confirmed_app()
    check = services.check_code(email="ann@example.com", code=totp.code_at(secret, now), now=now)
    assert check.outcome == "invalid"


def test_a_confirmed_app_replaces_the_earlier_one():
    _confirmed_app()
    second, now = _confirmed_app()
    [factor] = services.confirmed_factors("ann@example.com")
    assert services._secret(factor) == second


def test_factors_are_found_by_address_whatever_its_case():
    secret, now = _confirmed_app("Ann@Example.com")
    check = services.check_code(
        email="ANN@example.com", code=totp.code_at(secret, now + STEP), now=now + STEP
    )
    assert check.outcome == "valid"
    assert check.method == "otp"


def test_a_recovery_code_of_another_person_is_refused():
    _confirmed_app("ann@example.com")
    [code, *_] = services.recovery_codes_issue(email="ann@example.com")
    assert services.check_code(email="bob@example.com", code=code).outcome == "invalid"
    assert services.check_code(email="ann@example.com", code=code).method == "recovery"
    assert services.check_code(email="ann@example.com", code=code).outcome == "invalid"


def test_an_undecryptable_secret_is_no_factor(settings):
    secret, now = _confirmed_app()
    settings.SECRET_KEY = "another secret key, long enough, after a rotation gone wrong"
    check = services.check_code(
        email="ann@example.com", code=totp.code_at(secret, now + STEP), now=now + STEP
    )
    assert check.outcome == "invalid"


def _client_data(challenge: bytes) -> str:
    data = {"type": "webauthn.get", "challenge": base64.urlsafe_b64encode(challenge).decode()}
    return base64.urlsafe_b64encode(json.dumps(data).encode()).decode().rstrip("=")


def _answer(credential_id: str, challenge: bytes) -> str:
    return json.dumps(
        {
            "id": credential_id,
            "rawId": credential_id,
            "type": "public-key",
            "response": {"clientDataJSON": _client_data(challenge)},
        }
    )


def _key_of(email: str, credential_id: str = "AAAA") -> SecondFactor:
    return SecondFactor.objects.create(
        email=email,
        kind=SecondFactor.Kind.WEBAUTHN,
        name="Key",
        secret="",
        credential_id=credential_id,
        method="hwk",
        created_at=timezone.now(),
        confirmed_at=timezone.now(),
    )


def test_another_persons_key_is_refused_before_anything_is_verified():
    _key_of("bob@example.com")
    options = json.loads(
        services.passkey_assertion_options(email="bob@example.com", rp_id="access.localhost")
    )
    challenge = base64.urlsafe_b64decode(options["challenge"] + "==")
    with pytest.raises(CeremonyFailed, match="not a key of this person"):
        services.passkey_assert(
            email="ann@example.com",
            credential_json=_answer("AAAA", challenge),
            rp_id="access.localhost",
            origin="https://access.localhost",
        )
    # Bob's challenge is untouched by Ann's attempt.
    assert FactorChallenge.objects.get().used_at is None


def test_a_challenge_is_spent_once_and_only_by_its_person():
    now = timezone.now()
    challenge = services._new_challenge("ann@example.com", "assert", now)
    answer = _answer("AAAA", challenge)
    with pytest.raises(CeremonyFailed):
        services._take_challenge("bob@example.com", "assert", answer, now)
    with pytest.raises(CeremonyFailed):
        services._take_challenge("ann@example.com", "register", answer, now)
    assert services._take_challenge("ann@example.com", "assert", answer, now) == challenge
    with pytest.raises(CeremonyFailed, match="unknown, used or expired"):
        services._take_challenge("ann@example.com", "assert", answer, now)


def test_an_expired_challenge_is_refused():
    now = timezone.now()
    challenge = services._new_challenge("ann@example.com", "assert", now)
    with pytest.raises(CeremonyFailed):
        services._take_challenge(
            "ann@example.com", "assert", _answer("AAAA", challenge), now + timedelta(minutes=6)
        )


@pytest.mark.parametrize("answer", ["", "{}", "not json", '{"response": {"clientDataJSON": 3}}'])
def test_what_is_not_a_credential_is_refused(answer):
    with pytest.raises(CeremonyFailed):
        services._take_challenge("ann@example.com", "assert", answer, timezone.now())


def test_a_person_without_keys_gets_no_assertion_options():
    _key_of("bob@example.com")
    assert services.passkey_assertion_options(email="ann@example.com", rp_id="x.test") is None


def test_removing_the_last_factor_removes_the_recovery_codes():
    _confirmed_app()
    services.recovery_codes_issue(email="ann@example.com")
    [factor] = services.confirmed_factors("ann@example.com")
    assert services.factor_remove(email="bob@example.com", factor_id=factor.pk) is False
    assert services.factor_remove(email="ann@example.com", factor_id=factor.pk) is True
    assert services.recovery_codes_left("ann@example.com") == 0
    assert services.enrolled_methods("ann@example.com") == frozenset()

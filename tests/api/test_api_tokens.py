"""API tokens: shown once, stored hashed, checked in constant time, their use recorded."""

from datetime import timedelta

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone

from common.api.tokens import (
    ApiTokenError,
    api_token_authenticate,
    api_token_create,
)
from common.credentials import verify_secret
from common.models import ApiToken
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


def _create(user=None, **fields):
    """A token `user` (a fresh one by default) makes for themselves."""
    user = user or UserFactory()
    return api_token_create(name="ci", user=user, created_by=user, **fields)


def test_created_token_is_stored_only_as_a_hash():
    token, plain = _create()

    prefix, key_id, secret = plain.split("_")
    assert (prefix, key_id) == ("apt", token.key_id)
    stored = ApiToken.objects.get(pk=token.pk)
    assert secret not in stored.secret_hash
    assert verify_secret(secret, stored.secret_hash)


def test_new_tokens_are_read_only_by_default():
    token, _ = _create()

    assert token.read_only is True


def test_token_cannot_be_created_already_expired():
    with pytest.raises(ValidationError) as caught:
        _create(expires_at=timezone.now() - timedelta(seconds=1))

    assert caught.value.message_dict == {"expires_at": ["must be in the future"]}


def test_authenticate_returns_the_token():
    token, plain = _create()

    assert api_token_authenticate(plain) == token


@pytest.mark.parametrize(
    "mangle",
    [
        lambda plain: plain[:-1] + ("0" if plain[-1] != "0" else "1"),  # wrong secret
        lambda plain: "apt_0000000000000000_" + plain.split("_")[2],  # unknown key id
        lambda plain: "xyz" + plain[3:],  # wrong prefix
        lambda plain: plain.replace("_", ""),  # not three parts
        lambda plain: "",
    ],
)
def test_wrong_tokens_are_refused(mangle):
    _, plain = _create()

    with pytest.raises(ApiTokenError) as caught:
        api_token_authenticate(mangle(plain))

    assert caught.value.reason == "Invalid API token."


def test_expired_token_is_refused():
    _, plain = _create(expires_at=timezone.now() + timedelta(hours=1))

    with pytest.raises(ApiTokenError) as caught:
        api_token_authenticate(plain, now=timezone.now() + timedelta(hours=2))

    assert caught.value.reason == "This API token has expired."


def test_token_of_inactive_user_is_refused():
    _, plain = _create(UserFactory(is_active=False))

    with pytest.raises(ApiTokenError) as caught:
        api_token_authenticate(plain)

    assert caught.value.reason == "The user of this API token is inactive."


def test_first_use_is_recorded():
    token, plain = _create()
    now = timezone.now()

    api_token_authenticate(plain, now=now)

    token.refresh_from_db()
    assert token.last_used_at == now


def test_use_is_recorded_at_most_once_a_minute(django_assert_num_queries):
    token, plain = _create()
    first = timezone.now()
    api_token_authenticate(plain, now=first)

    with django_assert_num_queries(1):  # the lookup only: no write
        api_token_authenticate(plain, now=first + timedelta(seconds=59))

    token.refresh_from_db()
    assert token.last_used_at == first


def test_use_after_a_minute_is_recorded_again():
    token, plain = _create()
    first = timezone.now()
    api_token_authenticate(plain, now=first)

    api_token_authenticate(plain, now=first + timedelta(seconds=61))

    token.refresh_from_db()
    assert token.last_used_at == first + timedelta(seconds=61)

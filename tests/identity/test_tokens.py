"""Access tokens: what is issued, and every way a token is refused."""

import base64
import hashlib
import hmac
import json
from datetime import timedelta
from unittest import mock

import jwt
import pytest
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

from identity import keys, tokens
from identity.claims import TokenError
from identity.tokens import issue_token, issuer_for, verify_access_token

pytestmark = pytest.mark.django_db

AUD = "a" * 64
OTHER_AUD = "b" * 64
ISSUER = "https://access.example.com"
HOUR = timedelta(hours=1)


def _issue(**overrides):
    fields = {
        "token_type": "app",
        "audiences": [AUD],
        "email": "ada@example.com",
        "subject": "user-1",
        "identity_nonce": "nonce-1",
        "lifetime": HOUR,
        "issuer": ISSUER,
        "country": "PT",
    }
    fields.update(overrides)
    return issue_token(**fields)


def _verify(token, **overrides):
    arguments = {"audience": AUD, "token_type": "app", "issuer": ISSUER}
    arguments.update(overrides)
    return verify_access_token(token, **arguments)


def _refusal(token, **overrides):
    with pytest.raises(TokenError) as caught:
        _verify(token, **overrides)
    return caught.value.reason


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _sign(payload, *, headers=None):
    """Sign any JSON payload with the real current key (to reach the claim checks)."""
    key = keys.signing_key()
    header = _b64(json.dumps({"alg": "RS256", "kid": key.kid, **(headers or {})}).encode())
    body = _b64(json.dumps(payload).encode())
    signature = key.private_key.sign(
        f"{header}.{body}".encode(), padding.PKCS1v15(), hashes.SHA256()
    )
    return f"{header}.{body}.{_b64(signature)}"


def _valid_payload(clock):
    now = int(clock.now.timestamp())
    return {
        "aud": [AUD],
        "email": "ada@example.com",
        "exp": now + 3600,
        "iat": now,
        "nbf": now,
        "iss": ISSUER,
        "type": "app",
        "identity_nonce": "nonce-1",
        "sub": "user-1",
        "country": "PT",
    }


# --- issuing ------------------------------------------------------------------------------------


def test_issued_token_verifies_with_its_claims(clock):
    claims = _verify(_issue())

    assert (claims.email, claims.subject, claims.audiences) == ("ada@example.com", "user-1", (AUD,))
    assert (claims.token_type, claims.issuer, claims.identity_nonce, claims.country) == (
        "app",
        ISSUER,
        "nonce-1",
        "PT",
    )
    assert claims.issued_at == claims.not_before == clock.now
    assert claims.expires_at == clock.now + HOUR


def test_header_is_rs256_with_the_current_kid(clock):
    token = _issue()

    assert jwt.get_unverified_header(token) == {
        "alg": "RS256",
        "kid": keys.signing_key().kid,
        "typ": "JWT",
    }


def test_payload_has_exactly_the_contract_claims(clock):
    payload = jwt.decode(_issue(), options={"verify_signature": False})

    now = int(clock.now.timestamp())
    assert payload == {
        "aud": [AUD],
        "email": "ada@example.com",
        "exp": now + 3600,
        "iat": now,
        "nbf": now,
        "iss": ISSUER,
        "type": "app",
        "identity_nonce": "nonce-1",
        "sub": "user-1",
        "country": "PT",
    }


def test_service_token_carries_common_name_and_an_empty_subject(clock):
    token = _issue(email="", subject="", identity_nonce="", common_name="abc.access")

    claims = _verify(token)
    assert (claims.common_name, claims.subject, claims.is_service_token) == ("abc.access", "", True)


def test_extra_claims_are_added(clock):
    claims = _verify(_issue(extra={"binding": "f00d"}))

    assert claims.raw["binding"] == "f00d"


def test_login_method_auth_methods_and_binding_are_read_from_extra_claims(clock):
    extra = {"login_method": "Password", "amr": ["pwd", 5], "binding": "ab12"}

    claims = _verify(_issue(extra=extra))

    assert (claims.login_method, claims.auth_methods, claims.binding) == (
        "Password",
        ("pwd",),
        "ab12",
    )


def test_missing_or_mistyped_extra_claims_read_as_empty(clock):
    claims = _verify(_issue(extra={"login_method": 5, "amr": "pwd"}))

    assert (claims.login_method, claims.auth_methods, claims.binding) == ("", (), "")


def test_extra_claims_cannot_override_the_contract_claims(clock):
    with pytest.raises(ValueError, match="aud"):
        _issue(extra={"aud": [OTHER_AUD]})


def test_a_token_issued_without_a_country_carries_an_empty_one(clock):
    token = issue_token(
        token_type="app",
        audiences=[AUD],
        email="ada@example.com",
        subject="user-1",
        identity_nonce="nonce-1",
        lifetime=HOUR,
        issuer=ISSUER,
    )

    assert jwt.decode(token, options={"verify_signature": False})["country"] == ""


@pytest.mark.parametrize(
    ("overrides", "error", "message"),
    [
        ({"token_type": "service"}, ValueError, "token_type must be 'app' or 'org', not 'service'"),
        ({"audiences": AUD}, TypeError, "audiences must be a sequence of AUD tags, not a string"),
    ],
)
def test_issuing_with_a_wrong_type_or_audiences_says_which(clock, overrides, error, message):
    with pytest.raises(error) as raised:
        _issue(**overrides)

    assert str(raised.value) == message


def test_a_token_of_the_longest_accepted_length_verifies(clock):
    payload = _valid_payload(clock)
    for size in range(tokens.MAX_TOKEN_LENGTH):
        payload["pad"] = "x" * size
        token = _sign(payload)
        if len(token) >= tokens.MAX_TOKEN_LENGTH:
            break
    payload["email"] = "ada@example.co"  # one character fewer, for the length base64 skipped
    token = token if len(token) == tokens.MAX_TOKEN_LENGTH else _sign(payload)
    assert len(token) == tokens.MAX_TOKEN_LENGTH

    assert _verify(token).raw["pad"] == payload["pad"]
    assert _refusal(token + "A") == "malformed"


def test_org_token_verifies_as_org(clock):
    claims = _verify(_issue(token_type="org", audiences=[]), token_type="org", audience=None)

    assert claims.token_type == "org"


def test_issuer_for_keeps_the_port_and_lowercases():
    assert (
        issuer_for("Access.Example.com:8443", scheme="https") == "https://access.example.com:8443"
    )


def test_issuer_for_is_the_request_scheme():
    assert issuer_for("localhost:8000", scheme="http") == "http://localhost:8000"
    assert issuer_for("access.example.com", scheme="https") == "https://access.example.com"


@pytest.mark.parametrize("scheme", ["", "HTTP", "ftp", "https:", "javascript"])
def test_issuer_for_refuses_any_other_scheme(scheme):
    with pytest.raises(ValueError, match="http or https"):
        issuer_for("access.example.com", scheme=scheme)


# --- refusals -----------------------------------------------------------------------------------


def test_tampered_payload_is_refused(clock):
    header, _payload, signature = _issue().split(".")
    forged = _b64(json.dumps({**_valid_payload(clock), "email": "eve@example.com"}).encode())

    assert _refusal(f"{header}.{forged}.{signature}") == "bad signature"


def test_tampered_signature_is_refused(clock):
    header, payload, signature = _issue().split(".")
    raw = base64.urlsafe_b64decode(signature + "=" * (-len(signature) % 4))
    flipped = _b64(raw[:-1] + bytes([raw[-1] ^ 1]))

    assert _refusal(f"{header}.{payload}.{flipped}") == "bad signature"


def test_expired_token_is_refused(clock):
    token = _issue()
    clock.advance(HOUR + tokens.LEEWAY)

    assert _refusal(token) == "expired"


def test_token_is_valid_until_it_expires(clock):
    token = _issue()
    clock.advance(HOUR - timedelta(seconds=1))

    assert _verify(token).email == "ada@example.com"


def test_not_yet_valid_token_is_refused(clock):
    clock.advance(timedelta(minutes=5))
    token = _issue()
    clock.advance(timedelta(minutes=-5))

    assert _refusal(token) == "not yet valid"


def test_token_issued_in_the_future_is_refused(clock):
    payload = _valid_payload(clock)
    payload["iat"] += 600

    assert _refusal(_sign(payload)) == "not yet valid"


@pytest.mark.parametrize("claim", ["nbf", "iat"])
def test_a_clock_ahead_by_the_leeway_is_accepted_and_by_a_second_more_refused(clock, claim):
    leeway = int(tokens.LEEWAY.total_seconds())
    at_the_edge = _valid_payload(clock)
    at_the_edge[claim] += leeway
    past_the_edge = _valid_payload(clock)
    past_the_edge[claim] += leeway + 1

    assert _verify(_sign(at_the_edge)).email == "ada@example.com"
    assert _refusal(_sign(past_the_edge)) == "not yet valid"


def test_wrong_audience_is_refused(clock):
    assert _refusal(_issue(), audience=OTHER_AUD) == "wrong audience"


def test_audience_none_skips_the_audience_check(clock):
    assert _verify(_issue(), audience=None).audiences == (AUD,)


def test_token_with_several_audiences_verifies_for_each(clock):
    token = _issue(audiences=[AUD, OTHER_AUD])

    assert _verify(token, audience=OTHER_AUD).audiences == (AUD, OTHER_AUD)


def test_wrong_issuer_is_refused(clock):
    assert _refusal(_issue(), issuer="https://evil.example.com") == "wrong issuer"


def test_wrong_type_is_refused(clock):
    assert _refusal(_issue(token_type="org"), token_type="app") == "wrong type"


def test_unknown_kid_is_refused(clock):
    keys.signing_key()
    stranger = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    token = jwt.encode(
        _valid_payload(clock), stranger, algorithm="RS256", headers={"kid": "x" * 64}
    )

    assert _refusal(token) == "unknown kid"


def test_token_signed_by_another_key_under_our_kid_is_refused(clock):
    kid = keys.signing_key().kid
    stranger = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    token = jwt.encode(_valid_payload(clock), stranger, algorithm="RS256", headers={"kid": kid})

    assert _refusal(token) == "bad signature"


def test_alg_none_is_refused(clock):
    kid = keys.signing_key().kid
    header = _b64(json.dumps({"alg": "none", "kid": kid, "typ": "JWT"}).encode())
    payload = _b64(json.dumps(_valid_payload(clock)).encode())

    with pytest.raises(TokenError):
        _verify(f"{header}.{payload}.")


def test_hs256_signed_with_the_public_key_is_refused(clock):
    key = keys.signing_key()
    public_pem = key.private_key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    header = _b64(json.dumps({"alg": "HS256", "kid": key.kid, "typ": "JWT"}).encode())
    payload = _b64(json.dumps(_valid_payload(clock)).encode())
    mac = hmac.new(public_pem, f"{header}.{payload}".encode(), hashlib.sha256).digest()

    with pytest.raises(TokenError):
        _verify(f"{header}.{payload}.{_b64(mac)}")


def test_other_rsa_algorithms_are_refused(clock):
    key = keys.signing_key()
    token = jwt.encode(
        _valid_payload(clock), key.private_key, algorithm="RS512", headers={"kid": key.kid}
    )

    assert _refusal(token) == "malformed"


# --- rotation -----------------------------------------------------------------------------------


def test_token_of_the_previous_key_passes_within_seven_days(clock):
    token = _issue(lifetime=timedelta(days=30))
    keys.rotate_keys()
    clock.advance(timedelta(days=7) - timedelta(seconds=1))

    assert _verify(token).email == "ada@example.com"


def test_token_of_the_previous_key_fails_after_seven_days(clock):
    token = _issue(lifetime=timedelta(days=30))
    keys.rotate_keys()
    clock.advance(timedelta(days=7))

    assert _refusal(token) == "unknown kid"


def test_cached_signature_dies_with_its_key(clock):
    token = _issue(lifetime=timedelta(days=30))
    _verify(token)
    keys.rotate_keys()
    clock.advance(timedelta(days=7))

    assert _refusal(token) == "unknown kid"


def test_new_tokens_are_signed_by_the_new_key_after_rotation(clock):
    new = keys.rotate_keys()

    assert jwt.get_unverified_header(_issue())["kid"] == new.kid


# --- the signature cache ------------------------------------------------------------------------


def test_verified_signature_is_cached_once(clock):
    token = _issue()

    _verify(token)
    _verify(token)

    assert len(tokens._signature_cache) == 1


def test_cached_token_is_still_checked_for_audience(clock):
    token = _issue()
    _verify(token)

    assert _refusal(token, audience=OTHER_AUD) == "wrong audience"


def test_cached_token_is_still_checked_for_expiry(clock):
    token = _issue()
    _verify(token)
    clock.advance(HOUR + tokens.LEEWAY)

    assert _refusal(token) == "expired"


def test_refused_signature_is_not_cached(clock):
    header, payload, _signature = _issue().split(".")
    with pytest.raises(TokenError):
        _verify(f"{header}.{payload}.{_b64(b'x' * 256)}")

    assert len(tokens._signature_cache) == 0


def test_signature_cache_is_bounded():
    cache = tokens._SignatureCache(2)
    for index in range(3):
        cache.put(f"token-{index}", "kid", object())

    assert len(cache) == 2
    assert cache.get("token-0") is None


def test_signature_cache_keeps_recently_used_entries():
    cache = tokens._SignatureCache(2)
    cache.put("token-0", "kid", "zero")
    cache.put("token-1", "kid", "one")
    cache.get("token-0")
    cache.put("token-2", "kid", "two")

    assert cache.get("token-0") == ("kid", "zero")
    assert cache.get("token-1") is None


def test_verification_makes_no_query_in_steady_state(clock, settings, django_assert_num_queries):
    settings.ACCESS_VERSION_CHECK_INTERVAL = 3600
    token = _issue()
    _verify(token)

    with django_assert_num_queries(0):
        for _ in range(100):
            _verify(token)


# --- malformed input ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "token",
    [
        "",
        "garbage",
        "a.b",
        "a.b.c.d",
        "....",
        "é.é.é",
        "x" * 10_000,
        "!!!.@@@.###",
        "abcde.abcde.abcde",  # base64url letters, but no length base64 can have
        "eyJhbGciOiJSUzI1NiJ9.e30=.AAAA",
        _b64(b"[1, 2]") + ".e30.AAAA",
        _b64(b"not json") + ".e30.AAAA",
        _b64(b'{"alg": "RS256"}') + ".e30.AAAA",
        _b64(b'{"alg": "RS256", "kid": 5}') + ".e30.AAAA",
        _b64(b'{"alg": ["RS256"], "kid": "k"}') + ".e30.AAAA",
    ],
)
def test_malformed_tokens_are_refused_as_malformed(token):
    assert _refusal(token) == "malformed"


def test_a_token_seen_before_is_neither_parsed_nor_its_signature_checked_again(clock):
    token = _issue()
    assert _verify(token).email == "ada@example.com"

    parsed_again = AssertionError("parsed again")
    with (
        mock.patch.object(tokens, "_split", side_effect=parsed_again),
        mock.patch.object(tokens, "_parse_claims", side_effect=parsed_again),
    ):
        assert _verify(token).email == "ada@example.com"
        assert _refusal(token, audience=OTHER_AUD) == "wrong audience"  # claims still checked


@pytest.mark.parametrize("token", [None, b"bytes", 42, ["a", "b", "c"]])
def test_non_string_tokens_are_refused(token):
    assert _refusal(token) == "malformed"


@pytest.mark.parametrize(
    ("claim", "value"),
    [
        ("exp", "tomorrow"),
        ("exp", True),
        ("exp", None),
        ("exp", 1e300),
        ("iat", [1]),
        ("nbf", {"at": 1}),
        ("aud", AUD),
        ("aud", [AUD, 5]),
        ("email", 5),
        ("iss", None),
        ("type", ["app"]),
        ("identity_nonce", 7),
        ("sub", False),
        ("country", {}),
    ],
)
def test_signed_token_with_wrong_claim_types_is_malformed(clock, claim, value):
    payload = _valid_payload(clock)
    payload[claim] = value

    assert _refusal(_sign(payload)) == "malformed"


@pytest.mark.parametrize("claim", ["iss", "type", "exp", "iat", "nbf", "aud"])
def test_signed_token_missing_a_required_claim_is_malformed(clock, claim):
    payload = _valid_payload(clock)
    del payload[claim]

    assert _refusal(_sign(payload)) == "malformed"


@pytest.mark.parametrize("claim", ["email", "sub", "identity_nonce", "country"])
def test_signed_token_missing_an_optional_claim_verifies(clock, claim):
    payload = _valid_payload(clock)
    del payload[claim]

    assert getattr(_verify(_sign(payload)), "subject" if claim == "sub" else claim) == ""


def test_signed_token_whose_payload_is_not_an_object_is_malformed(clock):
    assert _refusal(_sign([1, 2, 3])) == "malformed"


@hypothesis_settings(max_examples=300, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.text(max_size=300))
def test_any_text_is_refused_with_a_token_error(text):
    with pytest.raises(TokenError):
        _verify(text)


@hypothesis_settings(max_examples=200, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    st.dictionaries(st.text(max_size=8), st.none() | st.integers() | st.text(max_size=8)),
    st.binary(max_size=300),
)
def test_any_header_and_signature_are_refused_with_a_token_error(header, signature):
    token = f"{_b64(json.dumps(header).encode())}.e30.{_b64(signature)}"

    with pytest.raises(TokenError):
        _verify(token)

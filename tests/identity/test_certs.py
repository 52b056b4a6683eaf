"""`/cdn-cgi/access/certs`: the published keys, their shape and caching."""

from datetime import timedelta

import jwt
import pytest
from cryptography import x509

from identity import keys
from identity.tokens import issue_token

pytestmark = pytest.mark.django_db

URL = "/cdn-cgi/access/certs"


def test_certs_publish_the_documented_shape(client, clock):
    response = client.get(URL)

    assert response.status_code == 200
    body = response.json()
    assert set(body) == {"keys", "public_cert", "public_certs"}
    current = keys.signing_key().kid
    assert [key["kid"] for key in body["keys"]] == [current]
    assert set(body["keys"][0]) == {"kty", "kid", "alg", "use", "n", "e"}
    assert (body["keys"][0]["kty"], body["keys"][0]["alg"], body["keys"][0]["use"]) == (
        "RSA",
        "RS256",
        "sig",
    )
    assert body["public_cert"]["kid"] == current
    assert body["public_cert"]["cert"].startswith("-----BEGIN CERTIFICATE-----")
    assert body["public_certs"] == [body["public_cert"]]


def test_certs_are_cacheable_for_five_minutes(client, clock):
    response = client.get(URL)

    assert response["Cache-Control"] == "public, max-age=300"
    assert response["Content-Type"] == "application/json"


def test_certs_set_no_cookie(client, clock):
    response = client.get(URL)

    assert not response.cookies
    assert "Set-Cookie" not in response


def test_certs_list_the_current_then_the_previous_key(client, clock):
    old = keys.signing_key().kid
    new = keys.rotate_keys().kid

    body = client.get(URL).json()

    assert [key["kid"] for key in body["keys"]] == [new, old]
    assert [cert["kid"] for cert in body["public_certs"]] == [new, old]
    assert body["public_cert"]["kid"] == new


def test_previous_key_is_no_longer_published_after_seven_days(client, clock):
    keys.signing_key()
    new = keys.rotate_keys().kid
    clock.advance(timedelta(days=7))

    body = client.get(URL).json()

    assert [key["kid"] for key in body["keys"]] == [new]


def test_published_jwk_verifies_a_token(client, clock):
    token = issue_token(
        token_type="app",
        audiences=["a" * 64],
        email="ada@example.com",
        subject="1",
        identity_nonce="n",
        lifetime=timedelta(hours=1),
        issuer="https://app.example.com",
    )
    jwk = client.get(URL).json()["keys"][0]

    payload = jwt.decode(
        token,
        jwt.PyJWK(jwk).key,
        algorithms=["RS256"],
        audience="a" * 64,
        options={"verify_exp": False, "verify_iat": False, "verify_nbf": False},
    )

    assert payload["email"] == "ada@example.com"


def test_published_certificate_holds_the_signing_key(client, clock):
    signing = keys.signing_key()

    pem = client.get(URL).json()["public_cert"]["cert"]

    certificate = x509.load_pem_x509_certificate(pem.encode())
    expected = signing.private_key.public_key().public_numbers()
    assert certificate.public_key().public_numbers() == expected


def test_certs_refuse_other_methods(client, clock):
    assert client.post(URL).status_code == 405

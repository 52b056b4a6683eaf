"""Service-token secrets: random, hashed at rest, verified in constant time."""

import pytest

from common.credentials import generate_secret, hash_secret, verify_secret


def test_generate_secret_gives_64_hex_characters():
    secret = generate_secret()
    assert len(secret) == 64
    assert set(secret) <= set("0123456789abcdef")


def test_generate_secret_differs_each_time():
    assert generate_secret() != generate_secret()


def test_hash_secret_is_sha256_with_prefix():
    assert hash_secret("abc") == (
        "sha256$ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
    )


def test_verify_secret_accepts_the_right_secret():
    secret = generate_secret()
    assert verify_secret(secret, hash_secret(secret)) is True


def test_verify_secret_refuses_a_wrong_secret():
    assert verify_secret("wrong", hash_secret(generate_secret())) is False


@pytest.mark.parametrize(
    "hashed",
    [
        "",
        "sha256",
        "sha256$",
        "md5$ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad",
        "sha256$BA7816BF8F01CFEA414140DE5DAE2223B00361A396177A9CB410FF61F20015AD",
        "sha256$ba7816bf",
        "sha256$zz7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad",
        "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad",
    ],
)
def test_verify_secret_refuses_malformed_hashes(hashed):
    assert verify_secret("abc", hashed) is False


def test_verify_secret_refuses_unencodable_secrets():
    assert verify_secret("\udc80", hash_secret("abc")) is False

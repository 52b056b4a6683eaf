"""The RFC 9110 token, and the two readers of it: CORS methods and headers, forwarded methods."""

import string

import pytest

from common.http import is_token
from identity.forwarded import ForwardedRefusal, read_forwarded
from policies.cors import checked_cors_headers, normalize_method

# Written out as RFC 9110 (section 5.6.2) lists tchar, not as a character class.
TCHAR = frozenset("!#$%&'*+-.^_`|~" + string.digits + string.ascii_letters)
CHARACTERS = [chr(code) for code in range(0x100)] + ["\u0130", "\u212a", "\uff21"]


@pytest.mark.parametrize("character", CHARACTERS)
def test_a_token_is_made_of_tchar_only(character):
    assert is_token(character) is (character in TCHAR)
    assert is_token(f"A{character}B") is (character in TCHAR)


def test_a_token_is_never_empty():
    assert not is_token("")


@pytest.mark.parametrize("character", CHARACTERS)
def test_cors_reads_methods_and_headers_as_tokens(character):
    name = f"X{character}Y"
    _, errors = checked_cors_headers(
        {
            "allowed_origins": ["https://app.example.com"],
            "allowed_methods": ["GET"],
            "allowed_headers": [name],
        }
    )
    assert (normalize_method(name) is not None) is (character in TCHAR)
    assert ("allowed_headers[0]" not in errors) is (character in TCHAR)


@pytest.mark.parametrize("character", CHARACTERS)
def test_forward_auth_reads_the_method_as_a_token(character, settings):
    settings.ACCESS_TRUSTED_PROXIES = ["10.0.0.0/24"]
    settings.ALLOWED_HOSTS = ["wiki.localhost"]
    meta = {
        "REMOTE_ADDR": "10.0.0.5",
        "HTTP_X_FORWARDED_HOST": "wiki.localhost",
        "HTTP_X_FORWARDED_PROTO": "https",
        "HTTP_X_FORWARDED_METHOD": f"X{character}Y",
        "HTTP_X_FORWARDED_URI": "/",
    }
    if character in TCHAR:
        assert read_forwarded(meta).method == f"X{character}Y"
    else:
        with pytest.raises(ForwardedRefusal, match="X-Forwarded-Method is not a method"):
            read_forwarded(meta)

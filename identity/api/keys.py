"""`/api/access/keys`: the public signing keys, and rotating them (`POST keys/rotate`)."""

from __future__ import annotations

from typing import Any

from rest_framework import serializers

from common.api.resources import ActionApi, Doc, ReadApi, ResourceApi
from identity.keys import published_keys, rotate_keys
from identity.models import SigningKey


class JwkSerializer(serializers.Serializer[Any]):
    kty = serializers.CharField(help_text='The key type: "RSA".')
    kid = serializers.CharField(help_text="The key id, as in a token's `kid` header.")
    alg = serializers.CharField(help_text='The algorithm it verifies: "RS256".')
    use = serializers.CharField(help_text='"sig": it verifies signatures.')
    n = serializers.CharField(help_text="The RSA modulus, base64url.")
    e = serializers.CharField(help_text="The RSA public exponent, base64url.")


class SigningKeyOutputSerializer(serializers.Serializer[Any]):
    kid = serializers.CharField(help_text="The key id, as in a token's `kid` header.")
    current = serializers.BooleanField(help_text="Whether this key signs new tokens.")
    jwk = JwkSerializer()
    cert = serializers.CharField(help_text="Self-signed PEM certificate of the public key.")
    activated_at = serializers.DateTimeField(help_text="When it began signing.")
    retired_at = serializers.DateTimeField(
        allow_null=True, help_text="When a newer key replaced it; null: still current."
    )
    expires_at = serializers.DateTimeField(
        allow_null=True, help_text="After this the key no longer verifies."
    )


def _keys() -> list[dict[str, Any]]:
    """Every published key, for `SigningKeyOutputSerializer`."""
    keyset = published_keys()
    return [
        {
            "kid": kid,
            "current": kid == keyset.current_kid,
            "jwk": dict(key.jwk),
            "cert": key.certificate_pem,
            "activated_at": key.activated_at,
            "retired_at": key.retired_at,
            "expires_at": key.expires_at,
        }
        for kid, key in keyset.items()
    ]


class Keys(ResourceApi):
    queryset = SigningKey.objects.all()
    output = SigningKeyOutputSerializer
    many = True


class KeyListApi(Keys, ReadApi):
    route, route_name = "keys", "api-keys"
    docs = {
        "get": Doc(
            "List signing keys", "Every key that still verifies tokens, the current one first."
        )
    }

    def read(self, filters: dict[str, Any]) -> list[dict[str, Any]]:
        return _keys()


class KeyRotateApi(Keys, ActionApi):
    route, route_name = "keys/rotate", "api-keys-rotate"
    docs = {
        "post": Doc(
            "Rotate the signing key",
            "Make a new key current now. The previous key stops signing and keeps verifying "
            "for 7 days. Returns the keys after the rotation.",
        )
    }

    def act(self, target: None, values: dict[str, Any]) -> list[dict[str, Any]]:
        rotate_keys(reason=self.actor)
        return _keys()

"""factory-boy factories shared by the suite."""

# policies

import factory
from factory.django import DjangoModelFactory

from common.credentials import hash_secret
from policies.models import (
    AccessGroup,
    Application,
    IdentityProvider,
    Policy,
    ServiceToken,
)


class IdentityProviderFactory(DjangoModelFactory):
    class Meta:
        model = IdentityProvider
        django_get_or_create = ("name",)

    name = factory.Sequence(lambda n: f"Provider {n}")
    type = IdentityProvider.Type.PASSWORD


class AccessGroupFactory(DjangoModelFactory):
    class Meta:
        model = AccessGroup

    name = factory.Sequence(lambda n: f"group-{n}")
    include = factory.LazyFunction(lambda: [{"email_domain": {"domain": "example.com"}}])


class ServiceTokenFactory(DjangoModelFactory):
    """A service token whose plain secret is `"s" * 64` unless `secret` is given."""

    class Meta:
        model = ServiceToken
        exclude = ("secret",)

    name = factory.Sequence(lambda n: f"token-{n}")
    client_id = factory.Sequence(lambda n: f"{n:032x}.access")
    secret = "s" * 64
    secret_hash = factory.LazyAttribute(lambda token: hash_secret(token.secret))


class ApplicationFactory(DjangoModelFactory):
    class Meta:
        model = Application

    name = factory.Sequence(lambda n: f"Application {n}")
    domain = factory.Sequence(lambda n: f"app{n}.example.com")


class PolicyFactory(DjangoModelFactory):
    class Meta:
        model = Policy

    application = factory.SubFactory(ApplicationFactory)
    name = factory.Sequence(lambda n: f"policy-{n}")
    decision = Policy.Decision.ALLOW
    precedence = factory.Sequence(lambda n: n + 1)
    include = factory.LazyFunction(lambda: [{"email_domain": {"domain": "example.com"}}])


# identity.api


class UserFactory(DjangoModelFactory):
    class Meta:
        model = "auth.User"
        django_get_or_create = ("username",)

    username = factory.Sequence(lambda n: f"user{n}")
    email = factory.LazyAttribute(lambda user: f"{user.username}@example.com")

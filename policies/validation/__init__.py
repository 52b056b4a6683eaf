"""The one validation layer: every rule of docs/architecture.md, for admin, API and config files.

Each `*_errors` function takes plain field values (as the services, the API or a config file hold
them), checks their types too (a config file can hold anything), and returns *every* problem at
once as `{field path: [message, ...]}` (`policies.errors`), e.g. `{"cors_headers.max_age": [...],
"include[0].email.email": [...]}`. Each message says what to do.

What other objects a rule may name, and what a change would break elsewhere, is asked of a
`Catalog` (`policies.catalog`); the `cors_headers` object is checked where it is compiled
(`policies.cors`).
"""

from policies.validation.applications import application_errors
from policies.validation.groups import group_errors
from policies.validation.identity_providers import identity_provider_errors
from policies.validation.policies import MAX_PRECEDENCE, policy_errors, policy_set_errors
from policies.validation.rule_lists import RULE_LISTS
from policies.validation.service_tokens import service_token_errors

__all__ = [
    "MAX_PRECEDENCE",
    "RULE_LISTS",
    "application_errors",
    "group_errors",
    "identity_provider_errors",
    "policy_errors",
    "policy_set_errors",
    "service_token_errors",
]

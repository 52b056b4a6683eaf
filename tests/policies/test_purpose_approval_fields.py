"""A policy's purpose justification and temporary approval fields, as in Access.

`purpose_justification_required`, `purpose_justification_prompt`, `approval_required` and
`approval_groups`: the same names and refusals through validation, the services, the REST API,
config files (and their export), the admin and the compiled snapshot.
"""

import json

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse
from hypothesis import given
from hypothesis import strategies as st

from common.models import AuditEntry
from policies import services
from policies.approvals import ApprovalGroup, approval_groups_from_data, checked_approval_groups
from policies.catalog import Catalog
from policies.configfile import apply_plan, export_config, plan_config
from policies.decision import decide
from policies.models import DEFAULT_PURPOSE_PROMPT, Policy
from policies.rules import Subject
from policies.snapshot import build_snapshot
from policies.validation import policy_errors
from tests.factories import ApplicationFactory
from tests.policies.test_admin import application_data, policy_data

CATALOG = Catalog()
GROUP = {"approvals_needed": 1, "email_addresses": ["boss@example.com", "deputy@example.com"]}
APPROVAL = {
    "purpose_justification_required": True,
    "approval_required": True,
    "approval_groups": [GROUP],
}
ALLOW_ONLY_MESSAGE = (
    "only allow policies ask this of the people they let in; turn it off or choose the allow "
    "decision (this policy's is {decision})"
)


def policy(**fields):
    return {
        "name": "Staff",
        "decision": "allow",
        "precedence": 1,
        "include": [{"everyone": {}}],
        **fields,
    }


def groups(*items):
    return policy(approval_groups=list(items))


# Validation


def test_purpose_justification_with_a_prompt_is_valid():
    fields = policy(
        purpose_justification_required=True, purpose_justification_prompt="Ticket number?"
    )
    assert policy_errors(fields, catalog=CATALOG) == {}


def test_an_approval_with_a_justification_and_a_group_is_valid():
    assert policy_errors(policy(**APPROVAL), catalog=CATALOG) == {}


def test_the_new_fields_default_to_asking_nothing():
    stored = Policy()
    assert (
        stored.purpose_justification_required,
        stored.purpose_justification_prompt,
        stored.approval_required,
        stored.approval_groups,
    ) == (False, "", False, [])


@pytest.mark.parametrize("name", ["purpose_justification_required", "approval_required"])
@pytest.mark.parametrize("value", ["yes", 1, None])
def test_the_switches_must_be_booleans(name, value):
    errors = policy_errors(policy(**{name: value}), catalog=CATALOG)
    assert errors == {name: ["must be true or false"]}


def test_the_prompt_must_be_text():
    errors = policy_errors(policy(purpose_justification_prompt=["why"]), catalog=CATALOG)
    assert errors == {"purpose_justification_prompt": ["must be text"]}


def test_a_prompt_of_1000_characters_is_accepted_and_one_more_refused():
    assert policy_errors(policy(purpose_justification_prompt="a" * 1000), catalog=CATALOG) == {}
    errors = policy_errors(policy(purpose_justification_prompt="a" * 1001), catalog=CATALOG)
    assert errors == {"purpose_justification_prompt": ["must be at most 1000 characters"]}


@pytest.mark.parametrize("decision", ["deny", "non_identity", "bypass"])
@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("purpose_justification_required", True),
        ("purpose_justification_prompt", "Why?"),
        ("approval_groups", [GROUP]),
    ],
)
def test_only_allow_policies_ask_for_a_purpose_or_name_approvers(decision, name, value):
    include = [{"ip": {"ip": "10.0.0.0/8"}}]
    errors = policy_errors(
        policy(decision=decision, include=include, **{name: value}), catalog=CATALOG
    )
    assert errors == {name: [ALLOW_ONLY_MESSAGE.format(decision=decision)]}


def test_a_block_policy_asking_for_approval_is_refused_on_each_field():
    errors = policy_errors(policy(decision="deny", **APPROVAL), catalog=CATALOG)
    message = [ALLOW_ONLY_MESSAGE.format(decision="deny")]
    assert errors == {
        "purpose_justification_required": message,
        "approval_required": message,
        "approval_groups": message,
    }


def test_an_approval_needs_purpose_justification_as_in_access():
    errors = policy_errors(policy(approval_required=True, approval_groups=[GROUP]), catalog=CATALOG)
    assert errors == {
        "approval_required": [
            "needs purpose_justification_required: the person asks an approver with a "
            "justification, so turn purpose justification on too"
        ]
    }


def test_an_approval_needs_an_approval_group():
    fields = policy(**{**APPROVAL, "approval_groups": []})
    assert policy_errors(fields, catalog=CATALOG) == {
        "approval_groups": [
            'needs at least one approval group, like [{"approvals_needed": 1, '
            '"email_addresses": ["ann@example.com"]}]'
        ]
    }


def test_approval_groups_without_approval_required_are_kept_for_later():
    # Access keeps the approvers while temporary authentication is switched off.
    assert policy_errors(groups(GROUP), catalog=CATALOG) == {}


@pytest.mark.parametrize(
    ("value", "errors"),
    [
        (
            {"approvals_needed": 1},
            {
                "approval_groups": [
                    "must be a list of approval groups, like "
                    '[{"approvals_needed": 1, "email_addresses": ["ann@example.com"]}]'
                ]
            },
        ),
        (
            ["boss@example.com"],
            {
                "approval_groups[0]": [
                    'must be an object like {"approvals_needed": 1, '
                    '"email_addresses": ["ann@example.com"]}'
                ]
            },
        ),
    ],
)
def test_approval_groups_of_the_wrong_shape_are_refused(value, errors):
    assert policy_errors(policy(approval_groups=value), catalog=CATALOG) == errors


@pytest.mark.parametrize(
    ("group", "path", "message"),
    [
        (
            {"approvals_needed": 1},
            "approval_groups[0].email_addresses",
            'must list at least one approver\'s address, like ["ann@example.com"]',
        ),
        (
            {"approvals_needed": 1, "email_addresses": []},
            "approval_groups[0].email_addresses",
            'must list at least one approver\'s address, like ["ann@example.com"]',
        ),
        (
            {"approvals_needed": 1, "email_addresses": "boss@example.com"},
            "approval_groups[0].email_addresses",
            'must list at least one approver\'s address, like ["ann@example.com"]',
        ),
        (
            {"approvals_needed": 1, "email_addresses": ["boss@example.com", "not an address"]},
            "approval_groups[0].email_addresses[1]",
            "must be an email address like ann@example.com",
        ),
        (
            {"approvals_needed": 1, "email_addresses": [7]},
            "approval_groups[0].email_addresses[0]",
            "must be an email address like ann@example.com",
        ),
        (
            {"approvals_needed": 1, "email_addresses": ["Boss@Example.com"]},
            "approval_groups[0].email_addresses[0]",
            'write the address as "boss@example.com" (lower case, no spaces)',
        ),
        (
            {"approvals_needed": 1, "email_addresses": [" boss@example.com"]},
            "approval_groups[0].email_addresses[0]",
            'write the address as "boss@example.com" (lower case, no spaces)',
        ),
        (
            {"approvals_needed": 1, "email_addresses": ["boss@example.com", "boss@example.com"]},
            "approval_groups[0].email_addresses[1]",
            "repeats another address of this group; remove it",
        ),
        (
            {"approvals_needed": 0, "email_addresses": ["boss@example.com"]},
            "approval_groups[0].approvals_needed",
            "must be a whole number of at least 1",
        ),
        (
            {"approvals_needed": True, "email_addresses": ["boss@example.com"]},
            "approval_groups[0].approvals_needed",
            "must be a whole number of at least 1",
        ),
        (
            {"approvals_needed": "1", "email_addresses": ["boss@example.com"]},
            "approval_groups[0].approvals_needed",
            "must be a whole number of at least 1",
        ),
        (
            {"email_addresses": ["boss@example.com"]},
            "approval_groups[0].approvals_needed",
            "must be a whole number of at least 1",
        ),
        (
            {"approvals_needed": 3, "email_addresses": ["boss@example.com", "deputy@example.com"]},
            "approval_groups[0].approvals_needed",
            "is more than the 2 approvers listed; list more addresses or ask for fewer approvals",
        ),
        (
            {**GROUP, "email_list_uuid": "597147a1"},
            "approval_groups[0].email_list_uuid",
            "unknown field; expected one of approvals_needed, email_addresses",
        ),
    ],
)
def test_a_bad_approval_group_is_refused_at_its_path(group, path, message):
    assert policy_errors(groups(GROUP, group), catalog=CATALOG) == {
        path.replace("[0]", "[1]", 1): [message]
    }


def test_every_problem_of_every_group_is_reported_at_once():
    errors = policy_errors(
        groups(
            {"approvals_needed": 0, "email_addresses": ["a@example.com", "A@example.com"]},
            {"approvals_needed": 2, "email_addresses": ["bad"]},
        ),
        catalog=CATALOG,
    )
    assert errors == {
        "approval_groups[0].email_addresses[1]": [
            'write the address as "a@example.com" (lower case, no spaces)'
        ],
        "approval_groups[0].approvals_needed": ["must be a whole number of at least 1"],
        "approval_groups[1].email_addresses[0]": ["must be an email address like ann@example.com"],
        "approval_groups[1].approvals_needed": [
            "is more than the 1 approvers listed; list more addresses or ask for fewer approvals"
        ],
    }


# One set of rules: whatever validation accepts compiles, and the compiler refuses the rest

_GROUP_VALUES = st.fixed_dictionaries(
    {
        "approvals_needed": st.one_of(st.integers(-1, 4), st.booleans(), st.text(max_size=2)),
        "email_addresses": st.one_of(
            st.lists(
                st.sampled_from(["a@example.com", "b@example.com", "B@example.com", "x", 3]),
                max_size=4,
            ),
            st.text(max_size=3),
        ),
    },
    optional={"email_list_uuid": st.text(max_size=3)},
)


@given(st.one_of(st.lists(_GROUP_VALUES, max_size=3), st.dictionaries(st.text(), st.text())))
def test_validation_and_the_compiler_agree(value):
    compiled, errors = checked_approval_groups(value)
    if errors:
        assert compiled is None
        with pytest.raises(ValueError, match="approval_groups"):
            approval_groups_from_data(value)
    else:
        assert compiled == approval_groups_from_data(value)
        assert [group.email_addresses for group in compiled] == [
            tuple(item["email_addresses"]) for item in value
        ]


# Services and snapshot


@pytest.mark.django_db
def test_the_services_store_the_fields_and_the_snapshot_compiles_them():
    application = ApplicationFactory(name="Payroll", domain="payroll.example.com")
    services.policy_create(
        application=application,
        **policy(purpose_justification_prompt="Which ticket?", **APPROVAL),
    )
    services.policy_create(
        application=application,
        **policy(name="Asked", precedence=2, purpose_justification_required=True),
    )
    services.policy_create(application=application, **policy(name="Plain", precedence=3))

    compiled = build_snapshot(version=1).applications[application.pk].policies

    payroll, asked, plain = compiled
    assert payroll.purpose_justification_required is True
    assert payroll.purpose_justification_prompt == "Which ticket?"
    assert payroll.approval_required is True
    assert payroll.approval_groups == (
        ApprovalGroup(1, ("boss@example.com", "deputy@example.com")),
    )
    assert (asked.purpose_justification_required, asked.purpose_justification_prompt) == (
        True,
        DEFAULT_PURPOSE_PROMPT,
    )
    assert (plain.purpose_justification_required, plain.approval_required) == (False, False)
    assert plain.approval_groups == ()


@pytest.mark.django_db
def test_the_verdict_says_whether_the_deciding_policy_wants_a_purpose_or_an_approval():
    application = ApplicationFactory(name="Payroll", domain="payroll.example.com")
    services.policy_create(
        application=application,
        **policy(
            name="Boss",
            include=[{"email": {"email": "boss@example.com"}}],
            purpose_justification_required=True,
        ),
    )
    services.policy_create(application=application, **policy(precedence=2, **APPROVAL))
    services.policy_create(
        application=application,
        **policy(name="Blocked", decision="deny", precedence=3, include=[{"everyone": {}}]),
    )
    policies = build_snapshot(version=1).applications[application.pk].policies

    boss = decide(policies, Subject(email="boss@example.com"), {})
    staff = decide(policies, Subject(email="ann@example.com"), {})
    nobody = decide(policies, Subject(), {})

    assert (boss.policy.name, boss.wants_purpose, boss.wants_approval) == ("Boss", True, False)
    # The approval request asks the justification: no purpose page of its own.
    assert (staff.policy.name, staff.wants_purpose, staff.wants_approval) == ("Staff", False, True)
    assert (nobody.allowed, nobody.wants_purpose, nobody.wants_approval) == (False, False, False)


@pytest.mark.django_db
def test_the_services_refuse_a_bad_approval_group_and_store_nothing():
    application = ApplicationFactory()

    with pytest.raises(ValidationError) as raised:
        services.policy_create(
            application=application,
            **policy(**{**APPROVAL, "approval_groups": [{"approvals_needed": 1}]}),
        )

    assert raised.value.message_dict == {
        "approval_groups[0].email_addresses": [
            'must list at least one approver\'s address, like ["ann@example.com"]'
        ]
    }
    assert not Policy.objects.exists()


@pytest.mark.django_db
def test_an_update_of_the_fields_is_audited_with_before_and_after():
    application = ApplicationFactory()
    stored = services.policy_create(application=application, **policy())

    services.policy_update(policy=stored, purpose_justification_required=True)

    entry = AuditEntry.objects.filter(action="update").get()
    assert entry.changes == {"purpose_justification_required": [False, True]}


# Config files


@pytest.mark.django_db
def test_a_config_file_sets_the_fields_and_exports_them_again():
    data = {
        "applications": [
            {
                "name": "Payroll",
                "domain": "payroll.example.com",
                "policies": [policy(purpose_justification_prompt="Which ticket?", **APPROVAL)],
            }
        ]
    }
    apply_plan(plan_config(data))

    (exported,) = export_config()["applications"]
    (staff,) = exported["policies"]
    assert staff["purpose_justification_required"] is True
    assert staff["purpose_justification_prompt"] == "Which ticket?"
    assert staff["approval_required"] is True
    assert staff["approval_groups"] == [GROUP]
    assert plan_config({"applications": [exported]}).changes == []


@pytest.mark.django_db
def test_a_config_file_with_a_bad_approval_group_is_refused_by_path():
    bad = {**GROUP, "email_addresses": ["Boss@example.com"]}
    data = {
        "applications": [
            {
                "name": "Payroll",
                "domain": "payroll.example.com",
                "policies": [policy(**{**APPROVAL, "approval_groups": [bad]})],
            }
        ]
    }

    with pytest.raises(Exception) as raised:
        plan_config(data)

    assert (
        "applications[0].policies[0].approval_groups[0].email_addresses[0]: write the address as "
        '"boss@example.com" (lower case, no spaces)'
    ) in str(raised.value)
    assert not Policy.objects.exists()


# Admin


def _admin_add(client, **policy_fields):
    return client.post(
        reverse("admin:policies_application_add"),
        application_data(policies=[policy_data("Staff", 1, **policy_fields)]),
    )


@pytest.mark.django_db
@pytest.mark.usefixtures("on_login_host")
def test_the_admin_saves_the_fields(admin_client):
    response = _admin_add(
        admin_client,
        purpose_justification_required="on",
        purpose_justification_prompt="Which ticket?",
        approval_required="on",
        approval_groups=json.dumps([GROUP]),
    )

    assert response.status_code == 302
    stored = Policy.objects.get()
    assert stored.purpose_justification_required is True
    assert stored.purpose_justification_prompt == "Which ticket?"
    assert stored.approval_required is True
    assert stored.approval_groups == [GROUP]


@pytest.mark.django_db
@pytest.mark.usefixtures("on_login_host")
def test_the_admin_leaves_the_fields_off_when_their_boxes_are_empty(admin_client):
    response = _admin_add(admin_client)

    assert response.status_code == 302
    stored = Policy.objects.get()
    assert (stored.purpose_justification_required, stored.approval_required) == (False, False)
    assert (stored.purpose_justification_prompt, stored.approval_groups) == ("", [])


@pytest.mark.django_db
@pytest.mark.usefixtures("on_login_host")
def test_the_admin_shows_an_approval_problem_on_its_field_and_saves_nothing(admin_client):
    response = _admin_add(
        admin_client,
        purpose_justification_required="on",
        approval_required="on",
        approval_groups=json.dumps([{"approvals_needed": 1, "email_addresses": []}]),
    )

    assert response.status_code == 200
    (form,) = response.context["inline_admin_formsets"][0].formset.forms
    assert form.errors["approval_groups"] == [
        "approval_groups[0].email_addresses: must list at least one approver's address, "
        'like ["ann@example.com"]'
    ]
    assert not Policy.objects.exists()

"""Policy decisions: evaluation order, first match, and the trace the policy tester shows."""

from datetime import timedelta

from hypothesis import given
from hypothesis import strategies as st

from policies.decision import (
    Action,
    CompiledPolicy,
    PolicyTrace,
    decide,
    evaluation_order,
    find_bypass,
)
from policies.rules import CompiledGroup, Subject, compile_rule

ANN = Subject(email="ann@example.com", country="PT")
EVE = Subject(email="eve@example.com", country="PT")
TOKEN = Subject(service_token="ci-deploy", is_service_token=True)
ANONYMOUS = Subject()
EVERYONE = compile_rule({"everyone": {}})
NOBODY_MATCHES = compile_rule({"email": {"email": "nobody@example.com"}})


def policy(name, action, precedence, include=(EVERYONE,), require=(), exclude=(), id=None):
    return CompiledPolicy(
        id=id,
        name=name,
        action=Action(action),
        precedence=precedence,
        include=tuple(include),
        require=tuple(require),
        exclude=tuple(exclude),
    )


def test_action_values_are_the_api_names():
    assert [action.value for action in Action] == ["allow", "deny", "non_identity", "bypass"]


def test_evaluation_order_puts_bypass_and_service_auth_first():
    policies = [
        policy("A", "allow", 1),
        policy("B", "deny", 2),
        policy("C", "non_identity", 3),
        policy("D", "bypass", 4),
        policy("E", "allow", 5),
    ]
    assert [p.name for p in evaluation_order(policies)] == ["C", "D", "A", "B", "E"]


def test_evaluation_order_breaks_precedence_ties_deterministically():
    policies = [policy("b", "allow", 1, id=2), policy("a", "allow", 1, id=1)]
    assert [p.name for p in evaluation_order(policies)] == ["a", "b"]


def test_first_match_decides():
    block_eve = policy(
        "Block Eve", "deny", 1, include=[compile_rule({"email": {"email": "eve@example.com"}})]
    )
    allow_all = policy("Everyone", "allow", 2)
    assert decide([allow_all, block_eve], EVE, {}).allowed is False
    assert decide([allow_all, block_eve], ANN, {}).allowed is True


def test_deny_match_refuses():
    verdict = decide([policy("Block", "deny", 1)], ANN, {})
    assert (verdict.allowed, verdict.policy.name, verdict.reason) == (
        False,
        "Block",
        "blocked by policy 'Block'",
    )


def test_allow_match_admits():
    verdict = decide([policy("Staff", "allow", 1)], ANN, {})
    assert (verdict.allowed, verdict.reason) == (True, "allowed by policy 'Staff'")


def test_bypass_match_admits():
    verdict = decide([policy("Public", "bypass", 1)], ANONYMOUS, {})
    assert (verdict.allowed, verdict.reason) == (True, "bypassed by policy 'Public'")


def test_service_auth_match_admits():
    rule = compile_rule({"any_valid_service_token": {}})
    verdict = decide([policy("CI", "non_identity", 1, include=[rule])], TOKEN, {})
    assert (verdict.allowed, verdict.reason) == (True, "allowed by service auth policy 'CI'")


def test_nothing_matched_is_a_deny():
    verdict = decide([policy("Nobody", "allow", 1, include=[NOBODY_MATCHES])], ANN, {})
    assert (verdict.allowed, verdict.policy, verdict.reason) == (False, None, "no policy matched")


def test_no_policies_is_a_deny():
    verdict = decide([], ANN, {})
    assert (verdict.allowed, verdict.reason, verdict.trace) == (False, "no policy matched", ())


def test_service_auth_beats_an_earlier_block():
    policies = [policy("Block", "deny", 1), policy("CI", "non_identity", 2)]
    assert decide(policies, ANN, {}).policy.name == "CI"


def test_allow_policies_do_not_admit_a_service_token():
    verdict = decide([policy("Everyone", "allow", 1)], TOKEN, {})
    assert (verdict.allowed, verdict.reason) == (False, "no policy matched")


def test_allow_policies_do_not_admit_an_anonymous_request():
    assert decide([policy("Everyone", "allow", 1)], ANONYMOUS, {}).allowed is False


def test_trace_lists_every_policy_in_evaluation_order():
    policies = [
        policy("A", "allow", 1, include=[NOBODY_MATCHES]),
        policy("B", "allow", 2, exclude=[compile_rule({"geo": {"country_code": "PT"}})]),
        policy("C", "allow", 3, require=[compile_rule({"geo": {"country_code": "ES"}})]),
        policy("D", "allow", 4),
        policy("E", "deny", 5),
        policy("S", "non_identity", 6, include=[compile_rule({"any_valid_service_token": {}})]),
        policy("F", "allow", 7),
    ]
    verdict = decide(policies, ANN, {})
    assert [(t.policy.name, t.evaluated, t.matched, t.explanation) for t in verdict.trace] == [
        ("S", True, False, "no include rule matched"),
        ("A", True, False, "no include rule matched"),
        ("B", True, False, "include everyone matched, but exclude geo PT matched"),
        ("C", True, False, "include everyone matched, but require geo ES failed"),
        ("D", True, True, "include everyone matched"),
        ("E", False, False, "not evaluated: 'D' decided first"),
        ("F", False, False, "not evaluated: 'D' decided first"),
    ]


def test_trace_says_why_each_person_only_policy_was_skipped():
    everyone, blocked = policy("Everyone", "allow", 1), policy("Blocked", "deny", 2)
    verdict = decide([everyone, blocked], TOKEN, {})
    assert verdict.trace == (
        PolicyTrace(everyone, True, False, note="allow policies need a signed-in person"),
        PolicyTrace(blocked, True, False, note="deny policies need a signed-in person"),
    )
    assert verdict.trace[0].explanation == "allow policies need a signed-in person"


def test_compiled_policy_keeps_its_session_duration():
    compiled = CompiledPolicy(
        None, "A", Action.ALLOW, 1, (EVERYONE,), session_duration=timedelta(hours=8)
    )
    assert compiled.session_duration == timedelta(hours=8)


def test_find_bypass_returns_the_first_matching_bypass():
    office = compile_rule({"geo": {"country_code": "PT"}})
    policies = [
        policy("Allow", "allow", 1),
        policy("Elsewhere", "bypass", 2, include=[NOBODY_MATCHES]),
        policy("Office", "bypass", 3, include=[office]),
    ]
    assert find_bypass(policies, ANN, {}).name == "Office"


def test_find_bypass_takes_bypasses_in_precedence_order_whatever_order_they_come_in():
    policies = [
        policy("Second", "bypass", 5),
        policy("Allow", "allow", 1),
        policy("First", "bypass", 2),
    ]
    assert find_bypass(policies, ANN, {}).name == "First"


def test_find_bypass_reads_a_group_rule_in_the_groups_it_is_given():
    portugal = CompiledGroup("Portugal", include=(compile_rule({"geo": {"country_code": "PT"}}),))
    policies = [
        policy(
            "From Portugal", "bypass", 1, include=[compile_rule({"group": {"name": "Portugal"}})]
        )
    ]
    assert find_bypass(policies, ANN, {"Portugal": portugal}).name == "From Portugal"
    assert find_bypass(policies, ANN, {}) is None


def test_decide_ordered_takes_the_policies_in_the_order_given():
    # The gate passes a compiled application's policies, already in evaluation order.
    block_eve = policy(
        "Block Eve", "deny", 1, include=[compile_rule({"email": {"email": "eve@example.com"}})]
    )
    allow_all = policy("Everyone", "allow", 2)
    assert decide([allow_all, block_eve], EVE, {}, ordered=True).policy.name == "Everyone"
    assert decide([allow_all, block_eve], EVE, {}).policy.name == "Block Eve"


def test_find_bypass_ignores_other_actions():
    policies = [policy("CI", "non_identity", 1), policy("Allow", "allow", 2)]
    assert find_bypass(policies, ANN, {}) is None


@given(
    actions=st.lists(st.sampled_from(list(Action)), min_size=0, max_size=6),
    matches=st.lists(st.booleans(), min_size=6, max_size=6),
    subject=st.sampled_from([ANN, EVE, TOKEN, ANONYMOUS]),
)
def test_the_gates_trace_free_decision_agrees_with_the_traced_one(actions, matches, subject):
    policies = evaluation_order(
        policy(f"p{i}", action, i + 1, include=[EVERYONE if matches[i] else NOBODY_MATCHES])
        for i, action in enumerate(actions)
    )

    traced = decide(policies, subject, {})
    quick = decide(policies, subject, {}, ordered=True, with_trace=False)

    assert (quick.allowed, quick.policy, quick.reason) == (
        traced.allowed,
        traced.policy,
        traced.reason,
    )
    assert quick.trace == ()

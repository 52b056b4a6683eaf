"""The step-up decision, from plain values: policies as a function of the methods proved."""

import pytest
from hypothesis import given
from hypothesis import strategies as st

from identity.factors.stepup import FACTOR_METHODS, Next, StepUp, methods_with, next_step
from policies.decision import Action, CompiledPolicy, decide
from policies.rules import Subject, compile_rules


def _policy_allows(*require):
    """`allows(methods)` for one allow policy: anyone at example.com, requiring `require`."""
    policy = CompiledPolicy(
        id=1,
        name="p",
        action=Action.ALLOW,
        precedence=1,
        include=compile_rules([{"email_domain": {"domain": "example.com"}}], where="include"),
        require=compile_rules(
            [{"auth_method": {"auth_method": m}} for m in require], where="require"
        ),
    )

    def allows(methods):
        subject = Subject(email="ann@example.com", auth_methods=frozenset(methods))
        return decide([policy], subject, {}).allowed

    return allows


PIN = frozenset({"otp"})
PASSWORD = frozenset({"pwd"})


def test_a_session_the_policies_allow_passes():
    assert next_step(allows=_policy_allows(), current=PIN, enrolled=frozenset()) == StepUp(
        Next.PASS
    )


def test_mfa_asks_for_any_of_the_persons_factors():
    step = next_step(
        allows=_policy_allows("mfa"), current=PASSWORD, enrolled=frozenset({"otp", "hwk"})
    )
    assert step == StepUp(Next.ASK, frozenset({"otp", "hwk"}))


def test_recovery_codes_count_for_mfa():
    step = next_step(
        allows=_policy_allows("mfa"), current=PIN, enrolled=frozenset({"swk", "recovery"})
    )
    assert step == StepUp(Next.ASK, frozenset({"swk", "recovery"}))


def test_a_specific_method_asks_only_for_factors_that_prove_it():
    step = next_step(
        allows=_policy_allows("hwk"),
        current=PASSWORD,
        enrolled=frozenset({"otp", "hwk", "recovery"}),
    )
    assert step == StepUp(Next.ASK, frozenset({"hwk"}))


def test_a_specific_method_the_person_has_no_factor_for_is_refused():
    step = next_step(
        allows=_policy_allows("hwk"), current=PASSWORD, enrolled=frozenset({"otp", "recovery"})
    )
    assert step == StepUp(Next.REFUSE)


def test_no_factor_yet_is_taken_through_enrolment():
    step = next_step(allows=_policy_allows("mfa"), current=PIN, enrolled=frozenset())
    assert step == StepUp(Next.ENROL, frozenset({"otp", "hwk", "swk"}))


def test_enrolment_offers_only_what_would_let_the_person_in():
    step = next_step(allows=_policy_allows("hwk"), current=PIN, enrolled=frozenset())
    assert step == StepUp(Next.ENROL, frozenset({"hwk"}))


def test_a_refusal_no_factor_changes_stays_a_refusal():
    def nobody(methods):
        return False

    assert next_step(allows=nobody, current=PIN, enrolled=frozenset({"otp"})) == StepUp(Next.REFUSE)
    assert next_step(allows=nobody, current=PIN, enrolled=frozenset()) == StepUp(Next.REFUSE)


def test_required_enrolment_takes_people_without_a_factor_through_it():
    step = next_step(
        allows=_policy_allows(), current=PIN, enrolled=frozenset(), enrolment_required=True
    )
    assert step.next is Next.ENROL


@pytest.mark.parametrize(
    ("current", "enrolled"),
    [(PIN, frozenset({"otp"})), (frozenset({"pwd", "mfa"}), frozenset())],
)
def test_required_enrolment_passes_people_with_a_factor_or_an_upstream_mfa(current, enrolled):
    step = next_step(
        allows=_policy_allows(), current=current, enrolled=enrolled, enrolment_required=True
    )
    assert step == StepUp(Next.PASS)


def test_recovery_codes_alone_are_no_factor_for_required_enrolment():
    step = next_step(
        allows=_policy_allows(),
        current=PIN,
        enrolled=frozenset({"recovery"}),
        enrolment_required=True,
    )
    assert step.next is Next.ENROL


def test_an_upstream_mfa_satisfies_an_mfa_policy():
    step = next_step(
        allows=_policy_allows("mfa"), current=frozenset({"pwd", "mfa"}), enrolled=frozenset()
    )
    assert step == StepUp(Next.PASS)


def test_a_first_factor_alone_never_proves_mfa():
    # Whatever the first factor's methods, only a given factor adds mfa.
    for current in (PIN, PASSWORD, frozenset({"otp", "pwd", "hwk"})):
        assert "mfa" not in current
        assert not _policy_allows("mfa")(current)


@pytest.mark.parametrize(
    ("factor", "added"),
    [
        ("otp", {"otp", "mfa"}),
        ("hwk", {"hwk", "mfa"}),
        ("swk", {"swk", "mfa"}),
        ("recovery", {"mfa"}),
    ],
)
def test_a_given_factor_adds_its_method_and_mfa(factor, added):
    assert methods_with(PASSWORD, factor) == PASSWORD | added


@given(
    current=st.frozensets(st.sampled_from(["otp", "pwd", "hwk", "swk", "mfa"])),
    enrolled=st.frozensets(st.sampled_from(["otp", "hwk", "swk", "recovery"])),
    required=st.frozensets(st.sampled_from(["otp", "pwd", "hwk", "swk", "mfa"]), max_size=2),
    enrolment_required=st.booleans(),
)
def test_the_decision_agrees_with_the_policies(current, enrolled, required, enrolment_required):
    allows = _policy_allows(*sorted(required))
    step = next_step(
        allows=allows, current=current, enrolled=enrolled, enrolment_required=enrolment_required
    )
    if step.next is Next.PASS:
        assert allows(current)
    elif step.next is Next.ASK:
        # Only the person's own factors, and only those that would let them in.
        assert step.methods
        assert step.methods <= enrolled
        assert all(allows(methods_with(current, method)) for method in step.methods)
    elif step.next is Next.ENROL:
        assert not (enrolled - {"recovery"})
        assert step.methods
    else:
        # None of the person's factors would help, nor (without one) any factor at all.
        assert not any(allows(methods_with(current, method)) for method in enrolled)
        if not enrolled - {"recovery"}:
            assert not any(allows(methods_with(current, method)) for method in FACTOR_METHODS)

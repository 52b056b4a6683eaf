"""Purpose justification, as in Access: the person says why before entering.

When the policy that allows a sign-in has `purpose_justification_required`, the login page asks
its prompt before the browser goes to the application's hop, once per org session and
application. The answer is stored with the session (`PurposeJustification`), named in the
sign-in's event, and carried in the app tokens minted from that session (`PURPOSE_CLAIM`,
`{AUD tag: answer}`), so that `get-identity` and the gate's access log read it from the token and
the gate refuses, from memory, a token without it (one minted before the policy asked, say):
the person is sent to sign in again, and answers then.
"""

from __future__ import annotations

import json
import unicodedata
from collections.abc import Iterable, Mapping, Sequence

from django.db import IntegrityError, transaction
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone

from common.text import unstorable_text_paths
from identity.models import AccessSession, PurposeJustification
from policies.decision import Verdict
from policies.snapshot import CompiledApplication

# What a person may write. The answer rides in an app token cookie, where JSON spells each
# non-ASCII character as \uXXXX: the encoded bound keeps that cookie well under browsers' 4 KB.
MAX_ANSWER_LENGTH = 500
MAX_ANSWER_ENCODED = 1000
# What one app token carries of the answers together (as encoded): its own application's answer
# always fits; the answers of the host's other applications it opens ride along only within this
# bound, so however many applications of a host ask, the cookie stays under 4 KB.
MAX_ANSWERS_ENCODED = MAX_ANSWER_ENCODED
EMPTY_ANSWER = "Write why you need to open this application."
LONG_ANSWER = f"Write at most {MAX_ANSWER_LENGTH} characters (fewer with emoji or accents)."
UNSTORABLE_ANSWER = "Your answer holds a character that cannot be stored: remove it."
CONTROL_IN_ANSWER = "Your answer holds a control character: write it as plain text."
# Approvers and administrators read the answer: line breaks and tabs are text, but no other
# control character (a terminal escape, a bell), nor the bidirectional controls that show text
# in another order than it is written.
_BIDI_CONTROLS = frozenset(
    "\u061c\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069"
)
_TEXT_CONTROLS = frozenset("\t\n\r")
TEMPLATE = "identity/purpose.html"


def asks_purpose(application: CompiledApplication) -> bool:
    """Whether any policy of the application asks for a purpose (in memory)."""
    return any(policy.purpose_justification_required for policy in application.policies)


def purpose_wanted(
    verdict: Verdict, application: CompiledApplication, session: AccessSession | None
) -> bool:
    """Whether this allowed sign-in must answer the deciding policy's prompt first: it asks,
    and this org session has not answered for this application yet."""
    if not verdict.wants_purpose:
        return False  # the common case costs no query
    return (
        session is None
        or not PurposeJustification.objects.filter(
            session=session, application_id=application.id
        ).exists()
    )


def answers_for(
    session: AccessSession | None, applications: Iterable[CompiledApplication]
) -> dict[str, str]:
    """This session's answers for `applications` (those of one host), by AUD tag, as an app
    token carries them; none of them asking costs no query."""
    asking = {app.id: app.aud for app in applications if asks_purpose(app)}
    if session is None or not asking:
        return {}
    rows = PurposeJustification.objects.filter(
        session=session, application_id__in=asking
    ).values_list("application_id", "answer")
    return {asking[application_id]: answer for application_id, answer in rows}


def answers_carried(
    answers: Mapping[str, str], audiences: Sequence[str]
) -> tuple[list[str], dict[str, str]]:
    """The audiences an app token opens and the answers it carries, from the session's
    `answers` (by AUD tag) and the audiences it would open, its own first: each audience's
    answer while all of them fit in `MAX_ANSWERS_ENCODED`; an audience whose answer no longer
    fits is left out (the gate would refuse it without the answer), and its application's next
    visit hops through the login page again."""
    kept: list[str] = []
    carried: dict[str, str] = {}
    room = MAX_ANSWERS_ENCODED
    for position, aud in enumerate(audiences):
        answer = answers.get(aud)
        if answer is None:
            kept.append(aud)
            continue
        size = len(json.dumps(answer))
        if position and size > room:
            continue
        kept.append(aud)
        carried[aud] = answer
        room -= size
    return kept, carried


def cleaned_answer(value: object) -> tuple[str, str]:
    """The answer as stored (spaces at either end removed) and "", or "" and why it is refused."""
    answer = value.strip() if isinstance(value, str) else ""
    if not answer:
        return "", EMPTY_ANSWER
    if any(unstorable_text_paths(answer)):
        return "", UNSTORABLE_ANSWER
    if any(_is_control(character) for character in answer):
        return "", CONTROL_IN_ANSWER
    if len(answer) > MAX_ANSWER_LENGTH or len(json.dumps(answer)) > MAX_ANSWER_ENCODED:
        return "", LONG_ANSWER
    return answer, ""


def _is_control(character: str) -> bool:
    if character in _TEXT_CONTROLS:
        return False
    return unicodedata.category(character) == "Cc" or character in _BIDI_CONTROLS


def purpose_record(
    *, session: AccessSession, application: CompiledApplication, policy_name: str, answer: str
) -> PurposeJustification:
    """Store the session's answer for the application; once: a later answer (a second tab, a
    replayed post) keeps the first."""
    try:
        with transaction.atomic():
            stored, _ = PurposeJustification.objects.get_or_create(
                session=session,
                application_id=application.id,
                defaults={
                    "policy_name": policy_name,
                    "answer": answer,
                    "created_at": timezone.now(),
                },
            )
    except IntegrityError:  # a concurrent post stored it first
        stored = PurposeJustification.objects.get(session=session, application_id=application.id)
    return stored


def purpose_page(
    request: HttpRequest,
    *,
    application: CompiledApplication,
    app_host: str,
    prompt: str,
    form_action: str,
    flow_fields: dict[str, str],
    error: str = "",
    answer: str = "",
    status: int = 200,
) -> HttpResponse:
    """The page that asks the deciding policy's prompt; it posts back to the login page."""
    return render(
        request,
        TEMPLATE,
        {
            "application": application,
            "app_host": app_host,
            "prompt": prompt,
            "form_action": form_action,
            "flow": flow_fields,
            "error": error,
            "answer": answer,
            "max_length": MAX_ANSWER_LENGTH,
        },
        status=status,
    )

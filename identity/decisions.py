"""Remembered decisions: a request the gate has decided before is answered from memory.

A person's browser sends the same cookie to the same application request after request, and
the gate's decision for it is a pure function of what it reads: the request's credentials and
network facts, the application, and the three in-memory states (the policy snapshot, the signing
keys, the revocations), plus the clock (a token expires, a key stops verifying). So the decision
for a valid token is kept, keyed by everything the decision reads of the request, and reused
while the same three states are in force and the clock has not passed what the token and the
keys allow.

Every state change makes a new state object (`common.versioning`): a policy change a new
snapshot, a logout, revocation or cutoff a new revocation state, a key rotation a new keyset.
Remembered decisions belong to the exact objects they were made with, and a lookup with any other
is a miss that forgets them all, so no change can be missed. A changed setting forgets them too
(the login host, and so the issuer, comes from settings).

Only decisions on a token that verified are kept (an allow, or a deny by the policies): a
refusal of a bad or not-yet-valid token is decided again each time, and whatever an attacker
sends makes nothing to remember. Preflights and service-token headers (whose expiry is checked
against the clock of each request) are always decided afresh. The memory is bounded: past
`MAX_ENTRIES` the oldest decision is dropped.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from datetime import datetime
from typing import Any

from django.dispatch import receiver
from django.test.signals import setting_changed
from django.utils import timezone

from identity.gate import GateDecision, Outcome, RequestFacts
from identity.keys import Keyset, active_keyset
from identity.sessions import RevocationState, revocation_state
from identity.tokens import LEEWAY
from policies.snapshot import CompiledApplication, Snapshot

MAX_ENTRIES = 4096

Key = tuple[Any, ...]
Decide = Callable[[RequestFacts, Snapshot, CompiledApplication], GateDecision]
_REMEMBERED = (Outcome.ALLOW, Outcome.DENY)


class _Generation:
    """The decisions made with one snapshot, keyset and revocation state."""

    __slots__ = ("entries", "keys_valid_until", "keyset", "revocations", "snapshot")

    def __init__(self, snapshot: Snapshot, keyset: Keyset, revocations: RevocationState) -> None:
        self.snapshot = snapshot
        self.keyset = keyset
        self.revocations = revocations
        self.entries: dict[Key, tuple[GateDecision, datetime]] = {}
        # A key stops verifying at its expiry: every decision ends then at the latest.
        ends = [key.expires_at for key in keyset.values() if key.expires_at is not None]
        self.keys_valid_until: datetime | None = min(ends) if ends else None


class DecisionMemo:
    """The remembered decisions of this process (`memo`)."""

    def __init__(self, size: int = MAX_ENTRIES) -> None:
        self.size = size
        self._generation: _Generation | None = None
        self.hits = 0
        self.misses = 0

    def decide(
        self,
        facts: RequestFacts,
        snapshot: Snapshot,
        application: CompiledApplication,
        decide: Decide,
    ) -> GateDecision:
        """The decision for `facts` on `application`: remembered, or made by `decide` (called
        with the same three arguments)."""
        if facts.is_preflight or facts.has_service_token_headers:
            return decide(facts, snapshot, application)
        keyset = active_keyset()
        revocations = revocation_state()
        # One attribute read: another thread may swap the generation, never half of it.
        generation = self._generation
        if (
            generation is None
            or generation.snapshot is not snapshot
            or generation.keyset is not keyset
            or generation.revocations is not revocations
        ):
            generation = _Generation(snapshot, keyset, revocations)
            self._generation = generation
        key = (
            id(application),  # the snapshot, held by the generation, keeps the id its own
            facts.host,
            facts.scheme,  # the issuer a token must name depends on it
            facts.method,
            facts.origin,
            facts.cookie_tokens,
            facts.header_token,
            facts.binding_cookies,
            facts.ip,
            facts.country,
        )
        now = timezone.now()
        remembered = generation.entries.get(key)
        if remembered is not None:
            decision, valid_until = remembered
            if now < valid_until:
                self.hits += 1
                return decision
        self.misses += 1
        decision = decide(facts, snapshot, application)
        claims = decision.claims
        if claims is not None and decision.outcome in _REMEMBERED:
            valid_until = claims.expires_at + LEEWAY
            keys_end = generation.keys_valid_until
            if keys_end is not None and keys_end < valid_until:
                valid_until = keys_end
            entries = generation.entries
            if key not in entries and len(entries) >= self.size:
                # Another thread may change the entries first: they stay bounded all the same.
                with contextlib.suppress(KeyError, RuntimeError, StopIteration):
                    del entries[next(iter(entries))]  # the oldest
            entries[key] = (decision, valid_until)
        return decision

    def __len__(self) -> int:
        generation = self._generation
        return len(generation.entries) if generation is not None else 0

    def forget(self) -> None:
        """Forget every remembered decision."""
        self._generation = None
        self.hits = 0
        self.misses = 0


memo = DecisionMemo()


@receiver(setting_changed)
def _forget_on_setting_change(**kwargs: object) -> None:
    memo.forget()

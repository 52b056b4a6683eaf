"""The App Launcher: who may open it, and which tiles a person sees.

Both questions are answered by the compiled policies the gate itself decides with
(`Snapshot.decide`), from memory: the launcher's own policies are those of the one application
of type `app_launcher`, and a tile is shown for an application only when its policies would let
this very sign-in in (`docs/architecture.md`, Matching and policy order) and it accepts the
sign-in's identity provider, as single sign-on would. An application that only a service token
can enter, or that refuses everyone, never has a tile; neither does one with
`app_launcher_visible` off, nor one whose `domain` names no single host (a wildcard) to link to.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from urllib.parse import urlsplit

from identity.flows.signin import offered_providers, offers
from identity.person import Person
from identity.redirects import application_root
from policies.rules import Subject
from policies.snapshot import CompiledApplication, Snapshot

# Longer searches are cut here: no name is longer than an application's (350), and the page
# echoes the text back into its search box.
MAX_QUERY_LENGTH = 100


@dataclass(frozen=True, slots=True)
class Tile:
    """One application as the launcher shows it."""

    name: str
    host: str  # the host (and path) people recognise, from the application's `domain`
    url: str
    logo_url: str  # validated https:// URL, or ""

    def matches(self, query: str) -> bool:
        """Whether a search (`normalized_query`) finds this tile: in its name or host, in
        any case."""
        wanted = query.casefold()
        return not wanted or wanted in self.name.casefold() or wanted in self.host.casefold()

    @property
    def initial(self) -> str:
        """What stands in for a missing logo."""
        return self.name[:1].upper()


def normalized_query(text: object) -> str:
    """A search as the launcher compares (and shows) it: runs of spaces as one, trimmed, at
    most `MAX_QUERY_LENGTH` characters."""
    if not isinstance(text, str):
        return ""
    return " ".join(text.split())[:MAX_QUERY_LENGTH].strip()


def may_open(
    snapshot: Snapshot, application: CompiledApplication, person: Person, subject: Subject
) -> bool:
    """Whether this sign-in would get into `application` (the launcher's own, or a tile's):
    it accepts the sign-in's identity provider and its policies allow the person."""
    return (
        offers(offered_providers(snapshot, application), person)
        and snapshot.decide(application, subject, with_trace=False).allowed
    )


def tiles_for(
    snapshot: Snapshot, person: Person, subject: Subject, *, scheme: str, port: int | None
) -> list[Tile]:
    """The tiles of every visible application this sign-in may open, in name order.

    `port` is the one the launcher was reached on (None: the scheme's default): applications
    are linked on it, as the sign-in flow sends browsers to them.
    """
    return [
        tile
        for application in snapshot.launcher_applications
        if may_open(snapshot, application, person, subject)
        and (tile := _tile(application, scheme=scheme, port=port)) is not None
    ]


def image_origins(tiles: Iterable[Tile]) -> list[str]:
    """The origins the tiles' logos load from, for the page's `img-src`."""
    origins = set()
    for tile in tiles:
        if tile.logo_url:
            parts = urlsplit(tile.logo_url)
            origins.add(f"{parts.scheme}://{parts.netloc.lower()}")
    return sorted(origins)


def _tile(application: CompiledApplication, *, scheme: str, port: int | None) -> Tile | None:
    host, _, _ = application.domain.partition("/")
    if not host or "*" in host:
        return None
    authority = host.lower().rstrip(".") + (f":{port}" if port is not None else "")
    return Tile(
        name=application.name,
        host=application.domain,
        url=f"{scheme}://{authority}{application_root(application.domain)}",
        logo_url=application.logo_url,
    )

"""GitHub's list pages: followed within the same API, never to another host."""

from __future__ import annotations

import pytest

from identity.providers.base import SignInFailed
from identity.providers.github import MAX_PAGES, _pages


class _Answer:
    def __init__(self, items, link=""):
        self.status_code = 200
        self.headers = {"Link": link} if link else {}
        self._items = items

    def json(self):
        return self._items


class _Session:
    """Answers GitHub's way: one page per URL, linking to the next."""

    def __init__(self, pages):
        self.pages = pages
        self.asked = []

    def get(self, url, timeout):
        self.asked.append(url)
        return self.pages[url]


API = "https://api.github.com/user/orgs"


def test_next_pages_of_the_same_list_are_followed():
    session = _Session(
        {
            f"{API}?per_page=100": _Answer([1], f'<{API}?per_page=100&page=2>; rel="next"'),
            f"{API}?per_page=100&page=2": _Answer([2]),
        }
    )
    assert _pages(session, API, what="organisations") == [1, 2]


def test_a_next_link_to_another_host_is_not_followed():
    session = _Session(
        {f"{API}?per_page=100": _Answer([1], '<https://attacker.example/steal>; rel="next"')}
    )
    assert _pages(session, API, what="organisations") == [1]
    assert session.asked == [f"{API}?per_page=100"]


def test_endless_pages_are_refused():
    pages = {}
    url = f"{API}?per_page=100"
    for page in range(MAX_PAGES + 1):
        following = f"{API}?per_page=100&page={page + 2}"
        pages[url] = _Answer([page], f'<{following}>; rel="next"')
        url = following
    with pytest.raises(SignInFailed, match="more than 10 pages"):
        _pages(_Session(pages), API, what="organisations")

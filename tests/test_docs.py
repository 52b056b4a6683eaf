"""The code and docs cite the project's own design document, and it has what they cite."""

import re
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
ARCHITECTURE = ROOT / "docs" / "architecture.md"
# "docs/architecture.md (The gate, request by request)", "architecture.md, Fast paths".
REFERENCE = re.compile(r"architecture\.md(?: \(|, )(?P<rest>[^\n]*(?:\n[^\n]*)?)")


def _tracked_texts() -> dict[str, str]:
    names = subprocess.run(
        ["git", "ls-files", "*.py", "*.md", "*.html", "*.txt"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()
    this_file = Path(__file__).resolve().relative_to(ROOT).as_posix()  # it quotes both forms
    return {
        name: (ROOT / name).read_text()
        for name in names
        if (ROOT / name).is_file() and name != this_file
    }


def _sections() -> list[str]:
    return [line[3:].strip() for line in ARCHITECTURE.read_text().splitlines() if line[:3] == "## "]


def _cited_sections(text: str) -> list[str]:
    return [" ".join(match["rest"].split()) for match in REFERENCE.finditer(text)]


def test_nothing_cites_a_design_document_outside_the_repository():
    citing = sorted(name for name, text in _tracked_texts().items() if "DESIGN.md" in text)

    assert citing == []


def test_every_section_cited_exists():
    sections = _sections()
    missing = sorted(
        f"{name}: {cited[:60]}"
        for name, text in _tracked_texts().items()
        for cited in _cited_sections(text)
        if cited[:1].isupper() and not any(cited.startswith(section) for section in sections)
    )

    assert "The gate, request by request" in sections
    assert missing == []


def test_a_citation_is_read_with_its_section():
    text = "on every process (architecture.md, The snapshot\n    and versions): within a second"

    assert _cited_sections(text) == ["The snapshot and versions): within a second"]
    assert _cited_sections("docs/architecture.md (Fast path)") == ["Fast path)"]


# docs/protect-your-service.md shows files the suite runs: they must not drift apart.

PROTECT = ROOT / "docs" / "protect-your-service.md"
EMBEDDED = re.compile(
    r"<!-- (?P<kind>file|snippet): (?P<path>\S+) -->\n```\w*\n(?P<body>.*?)```", re.S
)


def _embedded() -> list[tuple[str, str, str]]:
    return [(m["kind"], m["path"], m["body"]) for m in EMBEDDED.finditer(PROTECT.read_text())]


def test_protect_your_service_shows_the_configuration_files_the_tests_run():
    files = {path: body for kind, path, body in _embedded() if kind == "file"}

    assert sorted(files) == ["deploy/Caddyfile", "deploy/nginx.conf", "deploy/traefik.yml"]
    for path, body in files.items():
        assert body == (ROOT / path).read_text(), path


def test_protect_your_service_shows_the_settings_the_installed_site_uses():
    snippets = [(path, body) for kind, path, body in _embedded() if kind == "snippet"]

    assert len(snippets) == 3
    for path, body in snippets:
        assert body.strip() in (ROOT / path).read_text(), path

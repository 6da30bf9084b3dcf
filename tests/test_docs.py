"""The README is a front door and docs/ the manual: short, the two commands first, nothing broken.

Issue 13, point 8: the README keeps what the product is, the two commands, how to try each
persona and where to read on (at most 200 lines); the reference lives in docs/. A link that
leads nowhere or a path that no longer exists sends a reader astray, so both are checked.
"""

from __future__ import annotations

import re
import unicodedata
from pathlib import Path

import pytest

from core.config import PROJECT_ROOT

README = PROJECT_ROOT / "README.md"
DOCS = PROJECT_ROOT / "docs"
PAGES = [README, *sorted(DOCS.glob("*.md"))]
FIRST_SCREEN = 24  # lines a terminal or a repository page shows before any scrolling

_FENCE = re.compile(r"^```.*?^```[^\n]*$", re.MULTILINE | re.DOTALL)
_LINK = re.compile(r"\[[^\]]*\]\(([^)\s]+)\)")
_CODE_SPAN = re.compile(r"`([^`\n]+)`")
_PATH = re.compile(r"[A-Za-z0-9_.-]+(?:/[A-Za-z0-9_.*<>-]*)+")


def prose(text: str) -> str:
    """The page without its fenced code blocks (a `# comment` there is no heading, a path no link)."""
    return _FENCE.sub("", text)


def slug(heading: str) -> str:
    """A heading's anchor as GitHub makes it: lower case, punctuation dropped, spaces to hyphens."""
    return re.sub(r"[^\w\- ]", "", heading.strip().lower()).replace(" ", "-")


def anchors(page: Path) -> set[str]:
    seen: dict[str, int] = {}
    found = set()
    for line in prose(page.read_text(encoding="utf-8")).splitlines():
        if match := re.match(r"#{1,6} (.+)", line):
            base = slug(match.group(1))
            count = seen.get(base, 0)
            seen[base] = count + 1
            found.add(base if count == 0 else f"{base}-{count}")
    return found


def ignored_dirs() -> tuple[str, ...]:
    """What the project makes as it runs (var/, bench/out/, .venv/): named in the docs, never in git."""
    lines = (PROJECT_ROOT / ".gitignore").read_text(encoding="utf-8").splitlines()
    return tuple(line for line in lines if line.endswith("/") and "*" not in line)


def repo_paths(text: str) -> set[str]:
    """Every `dir/` or `dir/file.py` in backticks whose first part is a directory of the repository."""
    skipped = ignored_dirs()
    paths = set()
    for span in _CODE_SPAN.findall(prose(text)):
        for word in re.split(r"[\s:,()\[\]|=]+", span):
            if not _PATH.fullmatch(word) or word.startswith(skipped):
                continue
            if (PROJECT_ROOT / word.split("/")[0]).is_dir():
                paths.add(word)
    return paths


def exists(path: str) -> bool:
    """A path, where `<journey>` or `*` stands for any name."""
    pattern = re.sub(r"<[^>/]*>", "*", path).rstrip("/")
    return any(PROJECT_ROOT.glob(pattern)) if "*" in pattern else (PROJECT_ROOT / pattern).exists()


def test_a_newcomer_reads_a_front_door_of_at_most_200_lines() -> None:
    lines = README.read_text(encoding="utf-8").splitlines()
    assert len(lines) <= 200, f"README.md has {len(lines)} lines; move the reference into docs/"


def test_a_newcomer_finds_the_two_commands_on_the_first_screen() -> None:
    text = README.read_text(encoding="utf-8")
    block = re.search(r"^```[^\n]*\n(.*?)^```", text, re.MULTILINE | re.DOTALL)
    assert block is not None, "README.md has no code block"
    assert text[:block.start()].count("\n") < FIRST_SCREEN, "the set-up commands are below the first screen"
    commands = [line.split("#")[0].strip() for line in block.group(1).splitlines() if line.strip()]
    assert commands == ["make run", "make test"]


def test_a_reader_finds_every_page_of_the_manual_from_the_front_door() -> None:
    linked = {Path(target.split("#")[0]).name for target in _LINK.findall(README.read_text(encoding="utf-8"))
              if target.startswith("docs/")}
    unlisted = sorted(page.name for page in DOCS.glob("*.md") if page.name not in linked)
    assert not unlisted, f"docs pages the README does not link: {unlisted}"


@pytest.mark.parametrize("page", PAGES, ids=lambda page: page.name)
def test_every_link_in_the_docs_leads_to_a_page_and_heading_that_exist(page: Path) -> None:
    broken = []
    for target in _LINK.findall(prose(page.read_text(encoding="utf-8"))):
        if re.match(r"[a-z]+:", target):  # https:, mailto: — outside the repository
            continue
        file, _, anchor = target.partition("#")
        destination = (page.parent / file).resolve() if file else page
        if not destination.exists() or (anchor and destination.suffix == ".md"
                                        and anchor not in anchors(destination)):
            broken.append(target)
    assert not broken, f"{page.name}: links that lead nowhere: {broken}"


@pytest.mark.parametrize("page", PAGES, ids=lambda page: page.name)
def test_every_path_the_docs_name_exists_in_the_repository(page: Path) -> None:
    paths = repo_paths(page.read_text(encoding="utf-8"))
    missing = sorted(path for path in paths if not exists(path))
    assert not missing, f"{page.name} names paths that do not exist: {missing}"


@pytest.mark.parametrize("page", PAGES, ids=lambda page: page.name)
def test_vietnamese_in_the_docs_is_written_in_one_form(page: Path) -> None:
    # NFC: the form search, grep and the catalogue use; NFD text looks the same and matches nothing.
    text = page.read_text(encoding="utf-8")
    assert unicodedata.normalize("NFC", text) == text, f"{page.name} is not NFC"


def test_the_path_check_reads_paths_in_backticks_and_leaves_dates_and_urls() -> None:
    # What the check above relies on, so it cannot pass by finding nothing.
    found = repo_paths("`core/records/provenance.py: decide`, `dd/mm/yyyy`, `https://t.me/<bot>`, "
                       "`var/ehr.sqlite3`, `tests/journeys/<journey>.json`, `sandbox/`")
    assert found == {"core/records/provenance.py", "tests/journeys/<journey>.json", "sandbox/"}
    assert not exists("core/records/no_such_module.py")
    assert slug("Completing records: `/update`, corrections, volunteers") == \
        "completing-records-update-corrections-volunteers"


def test_every_line_the_book_can_show_is_mapped_to_its_source_in_the_manual() -> None:
    # Issue 14: "What the book shows" maps each displayed line to its source (QĐ 130 table
    # and field, QĐ 831 section, register column). One table row per line, in the book's
    # Vietnamese words, naming where it comes from and the legal text.
    from core.i18n import translator
    from core.records.display_rules import CATALOGUE, iter_fields

    vi = translator("vi")
    table = [line for line in (DOCS / "BOOK.md").read_text(encoding="utf-8").splitlines()
             if line.startswith("| ")]
    missing = []
    for section in CATALOGUE:
        for rule in iter_fields(section):
            assert rule.element, f"{rule.key} does not say where it comes from"
            label = f"| {vi.gettext(rule.label)} | {rule.label} |"
            sources = (rule.element.replace("|", "/"), rule.legal_source)
            if not any(label in line and all(s in line for s in sources) for line in table):
                missing.append(rule.key)
    assert missing == [], f"run scripts/book_sources.py and update docs/BOOK.md: {missing}"
    assert "](docs/BOOK.md#every-line-and-its-source)" in README.read_text(encoding="utf-8")

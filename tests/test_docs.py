"""The project documents its methods itself: no file cites the internal notes that users do not
have, and every ``docs/methods/<page>.md §N`` cited anywhere exists as a heading of that page
(and every ``§N #k`` as item k of that section)."""

import os
import re
import subprocess
from functools import lru_cache
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
DOCS = REPO / "docs" / "methods"
TEXT_SUFFIXES = {".py", ".yaml", ".yml", ".md", ".txt", ".cfg", ".toml", ".ini", ".sh"}

# Written in pieces so that this file does not match itself.
FORBIDDEN = [re.compile("shared" + "/specs"), re.compile(r"\b[Ss]pec" + r"(?:'s)?\s*§")]

_NUM = r"\d+(?:\.\d+)?"
_ITEMS = r"(?:\s*#\d+(?:\s*-\s*#?\d+)?(?:,\s*#\d+(?:\s*-\s*#?\d+)?)*)?"
CITATION = re.compile(
    r"docs/methods/(?P<page>[\w-]+)\.md`?"
    r"(?P<refs>(?:\s*§" + _NUM + _ITEMS + r"(?:(?:,\s*|\s+and\s+|-)§" + _NUM + _ITEMS + r")*"
    r"|\s+Part\s+[A-Z]\b)?)"
)
REF = re.compile(r"§(?P<sec>" + _NUM + r")(?P<items>" + _ITEMS + r")")


@lru_cache(maxsize=None)
def project_files():
    """Tracked text files (``git ls-files``; every file under the repository without git)."""
    try:
        out = subprocess.run(
            ["git", "-C", str(REPO), "ls-files", "-z"], check=True, capture_output=True
        ).stdout.decode()
        rels = [r for r in out.split("\0") if r]
    except (OSError, subprocess.CalledProcessError):
        rels = [
            str(p.relative_to(REPO))
            for p in REPO.rglob("*")
            if p.is_file() and ".git" not in p.parts and "__pycache__" not in p.parts
        ]
    files = []
    for rel in rels:
        path = REPO / rel
        if path.suffix in TEXT_SUFFIXES and path.is_file():
            files.append((rel, path.read_text(encoding="utf-8", errors="replace")))
    return files


@lru_cache(maxsize=None)
def sections(page: str):
    """{section number or "Part X": its text (heading to the next heading of its level or
    above)} of ``docs/methods/<page>.md``."""
    lines = (DOCS / f"{page}.md").read_text(encoding="utf-8").splitlines()
    heads = []
    for i, line in enumerate(lines):
        m = re.match(r"^(#+)\s+(?:(Part\s+[A-Z])\b|(\d+(?:\.\d+)*)[.\s])", line)
        if m:
            heads.append((i, len(m.group(1)), m.group(2) or m.group(3)))
    out = {}
    for n, (i, level, key) in enumerate(heads):
        end = next((j for j, lv, _ in heads[n + 1 :] if lv <= level), len(lines))
        out[re.sub(r"\s+", " ", key)] = "\n".join(lines[i:end])
    return out


def citations():
    """(file:line, page, section or None, [item numbers]) of every docs/methods citation."""
    for rel, text in project_files():
        for lineno, line in enumerate(text.splitlines(), 1):
            for m in CITATION.finditer(line):
                where, page, refs = f"{rel}:{lineno}", m.group("page"), m.group("refs")
                if "Part" in refs:
                    yield where, page, re.sub(r"\s+", " ", refs.strip()), []
                    continue
                found = list(REF.finditer(refs))
                if not found:
                    yield where, page, None, []
                for r in found:
                    items = [int(k) for k in re.findall(r"\d+", r.group("items"))]
                    yield where, page, r.group("sec"), items


def test_no_citation_of_internal_notes():
    hits = [
        f"{rel}:{lineno}: {line.strip()}"
        for rel, text in project_files()
        for lineno, line in enumerate(text.splitlines(), 1)
        if any(p.search(line) for p in FORBIDDEN)
    ]
    assert not hits, "cite docs/methods/<page>.md or the official file instead:\n" + "\n".join(hits)


def test_cited_doc_sections_exist():
    cited = list(citations())
    assert len(cited) > 100  # the code does cite the docs (guards the regex itself)
    missing = []
    for where, page, sec, items in cited:
        if not (DOCS / f"{page}.md").is_file():
            missing.append(f"{where}: docs/methods/{page}.md does not exist")
            continue
        if sec is None:
            continue
        text = sections(page).get(sec)
        if text is None:
            missing.append(f"{where}: docs/methods/{page}.md has no section {sec}")
            continue
        for k in items:
            if not re.search(rf"^\s*{k}\.\s", text, re.M):
                missing.append(f"{where}: docs/methods/{page}.md §{sec} has no item {k}")
    assert not missing, "\n".join(missing)


@pytest.mark.parametrize("page", ["hl", "u2pl", "mask2former", "losses", "datasets", "metrics"])
def test_method_pages_exist_and_are_linked(page):
    assert (DOCS / f"{page}.md").is_file()
    index = (REPO / "docs" / "README.md").read_text(encoding="utf-8")
    assert f"methods/{page}.md" in index
    assert "docs/README.md" in (REPO / "README.md").read_text(encoding="utf-8")


def test_section_parser_on_a_page():
    """The parser behind the check: headings "## 4. Losses" and "### 4.3 Title" give sections
    "4" and "4.3"; an item "13." is found inside §8 of hl.md."""
    hl = sections("hl")
    assert {"1", "4", "3.1", "3.2", "8"} <= set(hl)
    assert "Gradient" in hl["4"] and "## 5." not in hl["4"]
    assert re.search(r"^13\.\s", hl["8"], re.M)
    assert "Part A" in sections("metrics")
    assert os.path.basename(__file__) == "test_docs.py"

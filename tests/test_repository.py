"""The repository stands alone: no tracked file reads or cites a path outside it, and what it cites exists."""

import json
import re
import subprocess
from pathlib import Path

import pytest

from tests.factories import SAMPLES_DIR, sample

ROOT = Path(__file__).resolve().parents[1]

# Spelled in pieces so that this file, which is scanned too, does not match itself.
OUTSIDE = re.compile(
    "|".join(
        [
            re.escape("../" + "shared"),  # the sibling folder the specs once lived in
            re.escape("shared" + "/samples"),
            r"(?<![\w/])" + "CONTRACT" + r"\.md",  # documents that are not in the repository
            r"(?<![\w/])" + "PERFORMANCE" + r"\.md",
            r"(?<![\w.])/" + "work/",  # an absolute path of the machine it was written on
        ]
    )
)


# `Path(__file__).resolve().parents[k]` leaves the checkout when k is deeper than the file is.
CLIMB = re.compile(r"__file__\)\.resolve\(\)\.parents\[(\d+)\]")


def climbs_out(path: Path, line: str) -> bool:
    depth = len(path.relative_to(ROOT).parts) - 1
    return any(int(level) > depth for level in CLIMB.findall(line))


def tracked_files() -> list[Path]:
    """The files git tracks; a checkout without git (an archive) is walked instead."""
    try:
        listing = subprocess.run(["git", "ls-files", "-z"], cwd=ROOT, capture_output=True, check=True, text=True).stdout
        names = [name for name in listing.split("\0") if name]
    except (OSError, subprocess.CalledProcessError):
        skip = {".git", ".venv", "var", "node_modules", "__pycache__", ".pytest_cache"}
        names = [
            str(path.relative_to(ROOT))
            for path in ROOT.rglob("*")
            if path.is_file() and not skip.intersection(path.relative_to(ROOT).parts)
        ]
    return [ROOT / name for name in names if (ROOT / name).is_file()]


def text_of(path: Path) -> str | None:
    try:
        return path.read_text("utf-8")
    except UnicodeDecodeError:
        return None  # binary (the favicon, say)


def test_no_tracked_file_reads_or_cites_a_path_outside_the_repository():
    files = tracked_files()
    assert len(files) > 50  # the listing found the repository

    offending = [
        f"{path.relative_to(ROOT)}:{number}: {line.strip()}"
        for path in files
        if (text := text_of(path)) is not None
        for number, line in enumerate(text.splitlines(), 1)
        if OUTSIDE.search(line) or climbs_out(path, line)
    ]

    assert offending == []


def test_the_check_sees_a_path_climbing_out():
    # tests/factories.py once read the samples from `parents[2] / "shared"`, one level above the checkout.
    factories = ROOT / "tests" / "factories.py"
    assert climbs_out(factories, "Path(__file__).resolve().parents[" + '2] / "shared"')
    assert not climbs_out(factories, 'Path(__file__).resolve().parents[1] / "docs"')
    assert OUTSIDE.search("see " + "CONTRACT" + ".md §4")
    assert not OUTSIDE.search("see docs/contract.md §4")


@pytest.mark.parametrize("document", ["README.md", "docs/contract.md", "docs/integration.md", "docs/performance.md"])
def test_every_repository_path_a_document_cites_exists(document):
    text = (ROOT / document).read_text("utf-8")
    # Markdown links relative to the document, and `docs/...` paths in backticks relative to the root.
    links = [
        (ROOT / document).parent / target
        for target in re.findall(r"\]\(([^)#:]+)\)", text)
        if not target.startswith(("http", "/"))
    ]
    cited = [ROOT / path for path in re.findall(r"`(docs/[^`\s]+)`", text)]
    assert links or cited or document == "docs/performance.md"

    missing = [str(path) for path in links + cited if not path.exists()]

    assert missing == []


def test_the_samples_are_the_repositorys_own():
    assert SAMPLES_DIR.resolve().is_relative_to(ROOT)
    names = sorted(path.name for path in SAMPLES_DIR.glob("*.json"))
    assert names == ["push-android-no-employer.json", "push-ios-office-worker.json"]
    for name in names:
        payload = sample(name)
        assert set(payload) == {"orderInfo", "userAdditional"}
        assert json.loads((SAMPLES_DIR / name).read_text("utf-8")) == payload

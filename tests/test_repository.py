"""The repository stands alone (nothing cites a path outside it, what it cites exists); its modules stay small."""

import ast
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


@pytest.mark.parametrize(
    "document", ["README.md", "CONTRIBUTING.md", "docs/contract.md", "docs/integration.md", "docs/performance.md"]
)
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


# A path of the code in backticks: `intake/doors/rest.py`, `orders/risk/`; not a pattern (`<name>`, `*`).
CODE_PATH = re.compile(r"`((?:intake|orders|config|tests|templates|locale)/[\w./-]*)`")


@pytest.mark.parametrize("document", ["README.md", "CONTRIBUTING.md"])
def test_every_code_path_the_layout_and_the_contributor_map_name_exists(document):
    # When a module moves, the map that sends contributors to it must move too.
    cited = CODE_PATH.findall((ROOT / document).read_text("utf-8"))
    assert len(cited) > 5

    missing = sorted({path for path in cited if not (ROOT / path).exists()})

    assert missing == []


def test_the_samples_are_the_repositorys_own():
    assert SAMPLES_DIR.resolve().is_relative_to(ROOT)
    names = sorted(path.name for path in SAMPLES_DIR.glob("*.json"))
    assert names == ["push-android-no-employer.json", "push-ios-office-worker.json"]
    for name in names:
        payload = sample(name)
        assert set(payload) == {"orderInfo", "userAdditional"}
        assert json.loads((SAMPLES_DIR / name).read_text("utf-8")) == payload


# Past these a module usually holds two ideas and a function two steps; CONTRIBUTING.md says where things go.
MAX_MODULE_LINES = 400
MAX_FUNCTION_LINES = 60
SIZED_PACKAGES = ("intake", "orders", "config")


def oversized(source: str) -> tuple[int, list[tuple[str, int, int]]]:
    """The module's line count, and each function (nested ones too) longer than the limit as (name, line, length)."""
    long_functions = [
        (node.name, node.lineno, node.end_lineno - node.lineno + 1)
        for node in ast.walk(ast.parse(source))
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef)
        and node.end_lineno - node.lineno + 1 > MAX_FUNCTION_LINES
    ]
    return len(source.splitlines()), long_functions


def test_no_module_of_the_apps_exceeds_400_lines_nor_a_function_60():
    modules = [
        path
        for path in tracked_files()
        if path.suffix == ".py"
        and path.relative_to(ROOT).parts[0] in SIZED_PACKAGES
        and "migrations" not in path.relative_to(ROOT).parts
    ]
    assert len(modules) > 30  # the listing found the apps

    too_long = []
    for path in modules:
        lines, long_functions = oversized(path.read_text("utf-8"))
        name = path.relative_to(ROOT)
        if lines > MAX_MODULE_LINES:
            too_long.append(f"{name}: {lines} lines")
        too_long.extend(f"{name}:{line}: {function}() {length} lines" for function, line, length in long_functions)

    assert too_long == [], "\n".join(too_long)


def test_the_size_check_sees_a_long_module_and_a_long_nested_function():
    body = "\n".join(f"    x{number} = {number}" for number in range(MAX_FUNCTION_LINES))
    inner = "\n".join(f"        y{number} = {number}" for number in range(MAX_FUNCTION_LINES))
    source = f"def short():\n    return 1\n\n\ndef long():\n{body}\n\n\ndef outer():\n    def inner():\n{inner}\n"

    lines, long_functions = oversized(source)

    assert [(name, length) for name, _line, length in long_functions] == [
        ("long", MAX_FUNCTION_LINES + 1),
        ("outer", MAX_FUNCTION_LINES + 2),
        ("inner", MAX_FUNCTION_LINES + 1),
    ]
    assert oversized("pass\n" * MAX_MODULE_LINES)[0] == MAX_MODULE_LINES
    assert lines == 2 * MAX_FUNCTION_LINES + 9

"""The pipeline reads off the folders: no package of fuzzer/ imports a later one, type-only imports
included, and only fuzzer.workers starts, forks, kills or reaps processes."""

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2] / "fuzzer"
#: The pipeline order (README, "How it is built"); base modules without a stage come first.
ORDER = ["atomic", "versions", "ir", "catalog", "generate", "materialize", "export", "execute", "compare", "case", "coverage",
         "triage", "minimize", "store", "workers", "sweep", "campaign", "cli", "__main__"]


def _imports():
    """(importing package, imported package) for every import inside fuzzer/, type-only included."""
    for path in ROOT.rglob("*.py"):
        rel = path.relative_to(ROOT).with_suffix("").parts
        pkg = rel[0]
        for node in ast.walk(ast.parse(path.read_text())):
            names = []
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom):
                if node.level:
                    here = ["fuzzer", *rel[:-1]] if rel[-1] != "__init__" else ["fuzzer", *rel[:-1]]
                    base = here[: len(here) - node.level + 1]
                    names = [".".join(base + ([node.module] if node.module else []))]
                else:
                    names = [node.module or ""]
            for name in names:
                parts = name.split(".")
                if parts[0] == "fuzzer" and len(parts) > 1 and parts[1] != pkg:
                    yield path, pkg, parts[1]


def test_every_package_is_in_the_pipeline_order():
    packages = {p.relative_to(ROOT).with_suffix("").parts[0] for p in ROOT.rglob("*.py")} - {"__init__"}
    assert packages == set(ORDER), packages ^ set(ORDER)


def test_no_package_imports_a_later_one():
    late = [(str(p.relative_to(ROOT)), a, b) for p, a, b in _imports() if ORDER.index(b) > ORDER.index(a)]
    assert not late, late


def test_only_workers_start_or_kill_processes():
    calls = ("subprocess.Popen", "os.fork", "os.killpg", "os.waitpid", "subprocess.run")
    offenders = []
    for path in ROOT.rglob("*.py"):
        pkg = path.relative_to(ROOT).parts[0]
        text = path.read_text()
        if pkg != "workers" and any(c + "(" in text for c in calls):
            offenders.append(str(path.relative_to(ROOT)))
    assert not offenders, offenders

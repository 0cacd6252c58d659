"""Every rule once, in hierarchy/: the server, the device and the console ask it.

The source of every package is read (not imported) and each rule's definition is looked
for by name and by its tell-tale literal: the open-status set, the SLA breach rules, the
resident-ID and credit-code checks and the allowed-actions rule must each be defined in
exactly one module, and that module must be in hierarchy/.
"""

from __future__ import annotations

import ast
from collections import defaultdict
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("hierarchy", "sync", "server", "console", "seeds", "cli")

#: rule → the module that defines it (the only one).
RULES = {
    "OPEN_STATUSES": "hierarchy/cases.py",
    "OPEN_VALUES": "hierarchy/cases.py",
    "check_resident_id": "hierarchy/validation.py",
    "check_credit_code": "hierarchy/validation.py",
    "allowed_actions": "hierarchy/allowed.py",
    "is_overdue": "hierarchy/breaches.py",
    "effective_due": "hierarchy/breaches.py",
    "about_to_breach": "hierarchy/breaches.py",
    "on_time": "hierarchy/breaches.py",
    "utilisation": "hierarchy/breaches.py",
    "assess": "hierarchy/breaches.py",
}

#: GB 11643's check-digit weights: a second copy means a second resident-ID check.
ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
OPEN_VALUES = {"queued", "in_progress", "waiting_applicant"}


def sources() -> dict[str, ast.Module]:
    return {
        str(path.relative_to(ROOT)): ast.parse(path.read_text(encoding="utf-8"))
        for package in PACKAGES
        for path in sorted((ROOT / package).rglob("*.py"))
        if "migrations" not in path.parts
    }


def definitions(trees: dict[str, ast.Module]) -> dict[str, set[str]]:
    """Module-level names defined (def or assignment) → the modules defining them.

    Fields and methods of a class are not rules of their own (a wire struct's ``on_time``).
    """
    found: dict[str, set[str]] = defaultdict(set)
    for module, tree in trees.items():
        for node in tree.body:
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                found[node.name].add(module)
            elif isinstance(node, ast.Assign | ast.AnnAssign):
                targets = node.targets if isinstance(node, ast.Assign) else [node.target]
                for target in targets:
                    if isinstance(target, ast.Name):
                        found[target.id].add(module)
    return found


@pytest.fixture(scope="module")
def trees() -> dict[str, ast.Module]:
    return sources()


@pytest.mark.parametrize(("rule", "home"), sorted(RULES.items()))
def test_each_rule_is_defined_once_in_hierarchy(trees: dict[str, ast.Module], rule: str, home: str) -> None:
    assert definitions(trees)[rule] == {home}


def test_the_resident_id_weights_exist_once(trees: dict[str, ast.Module]) -> None:
    holders = {
        module
        for module, tree in trees.items()
        for node in ast.walk(tree)
        if isinstance(node, ast.Tuple | ast.List)
        and all(isinstance(e, ast.Constant) for e in node.elts)
        and tuple(e.value for e in node.elts if isinstance(e, ast.Constant)) == ID_WEIGHTS
    }
    assert holders == {"hierarchy/validation.py"}


def test_no_second_open_status_set(trees: dict[str, ast.Module]) -> None:
    """No collection outside hierarchy spells the open statuses out again (deriving them is fine)."""
    copies = {
        module
        for module, tree in trees.items()
        if not module.startswith("hierarchy/")
        for node in ast.walk(tree)
        if isinstance(node, ast.Set | ast.Tuple | ast.List)
        and {e.value for e in node.elts if isinstance(e, ast.Constant)} >= OPEN_VALUES
    }
    assert copies == set()


def test_the_finder_sees_a_copy(trees: dict[str, ast.Module]) -> None:
    """The checks above can fail: a server module with its own open set and ID check is caught."""
    stray = ast.parse(
        "OPEN_STATUSES = {'queued', 'in_progress', 'waiting_applicant'}\n"
        "def check_resident_id(v): return (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)\n"
    )
    found = definitions({**trees, "server/stray.py": stray})
    assert found["OPEN_STATUSES"] == {"hierarchy/cases.py", "server/stray.py"}
    assert found["check_resident_id"] == {"hierarchy/validation.py", "server/stray.py"}

"""The agent's subtree as a Tree, with a count of open cases beside every unit."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping

from textual.widgets import Tree
from textual.widgets.tree import TreeNode

from console.data import CaseRow, Unit
from console.format import OPEN


def subtree_counts(rows: Iterable[CaseRow], units: Mapping[str, Unit]) -> Counter[str]:
    """Open cases per unit, each counted at its owner unit and every ancestor of it."""
    direct = Counter(row.owner_unit for row in rows if row.status in OPEN)
    total: Counter[str] = Counter()
    for code, n in direct.items():
        unit = units.get(code)
        if unit is None:
            continue
        for ancestor in unit.path.strip("/").split("/"):
            total[ancestor] += n
    return total


class ScopeTree(Tree[str]):
    """Units under ``root``; the node data is the unit code."""

    DEFAULT_CSS = """
    ScopeTree { width: 26; border-right: solid $panel-lighten-2; scrollbar-size-vertical: 1; }
    """

    def __init__(self, **kwargs: object) -> None:
        super().__init__("scope", **kwargs)  # type: ignore[arg-type]
        self.show_root = True
        self.guide_depth = 2
        self._unit_nodes: dict[str, TreeNode[str]] = {}
        self._unit_names: dict[str, str] = {}
        self.built = False

    def build(self, root: str, units: Mapping[str, Unit]) -> None:
        """(Re)build the tree of ``root``'s subtree from ``units`` (code → unit)."""
        self.clear()
        self._unit_nodes.clear()
        children: dict[str, list[Unit]] = {}
        for unit in units.values():
            if unit.parent_code is not None:
                children.setdefault(unit.parent_code, []).append(unit)
        top = units.get(root)
        self.root.data = root
        self._unit_names = {code: u.name for code, u in units.items()}
        self.root.set_label(top.name if top else root)
        self._unit_nodes[root] = self.root

        def add(node: TreeNode[str], code: str) -> None:
            for child in sorted(children.get(code, ()), key=lambda u: u.code):
                if children.get(child.code):
                    sub = node.add(child.name, data=child.code)
                    self._unit_nodes[child.code] = sub
                    add(sub, child.code)
                else:
                    self._unit_nodes[child.code] = node.add_leaf(child.name, data=child.code)

        add(self.root, root)
        self.root.expand()
        self.built = True

    def node_of(self, code: str) -> TreeNode[str] | None:
        return self._unit_nodes.get(code)

    def show_counts(self, counts: Mapping[str, int]) -> None:
        for code, node in self._unit_nodes.items():
            name = self._unit_names.get(code, code)
            n = counts.get(code, 0)
            node.set_label(f"{name} {n}" if n else name)

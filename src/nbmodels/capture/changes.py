"""`ChangeWalker`: a `CellWalker` that also sees the objects a cell changes in place at its
top level (`df["x"] = ...`, `df.drop(..., inplace=True)`, `model.fit(...)`, `del d[k]`)
and the names its imports bind. The tracking core walks every tracked cell with it once;
lineage reads the same walk (`CellNames.mutated`, `.imported`), so a tracked cell is parsed
and walked once for both."""

from __future__ import annotations

import ast

from .walker import FIT_METHODS, CellWalker

# Methods that change the object they are called on (lists, dicts, sets, pandas in place).
MUTATING_METHODS = FIT_METHODS | frozenset({
    "append", "extend", "insert", "update", "pop", "popitem", "remove", "clear", "sort",
    "reverse", "setdefault", "add", "discard", "set_index_inplace", "load_state_dict",
    "step", "zero_grad",
})


class ChangeWalker(CellWalker):
    """`mutated`: names whose objects the cell's top level changes in place; `imported`:
    names its top-level imports bind; `deleted`: names its top level `del`etes."""

    def __init__(self) -> None:
        super().__init__()
        self.mutated: set[str] = set()
        self.imported: set[str] = set()
        self.deleted: set[str] = set()

    def visit_Import(self, node: ast.Import | ast.ImportFrom) -> None:
        if not self.scopes:
            self.imported.update((a.asname or a.name).split(".")[0] for a in node.names)
        super().visit_Import(node)

    visit_ImportFrom = visit_Import

    def _bind_target(self, target: ast.AST) -> None:
        if isinstance(target, (ast.Attribute, ast.Subscript)) and not self.scopes:
            root = root_name(target)
            if root is not None:
                self.mutated.add(root)
        super()._bind_target(target)

    def visit_Delete(self, node: ast.Delete) -> None:
        for target in node.targets:
            if self.scopes:
                continue
            if isinstance(target, ast.Name):
                self.deleted.add(target.id)
            elif (root := root_name(target)) is not None:
                self.mutated.add(root)
        self.generic_visit(node)

    def visit_Call(self, node: ast.Call) -> None:
        func = node.func
        if isinstance(func, ast.Attribute) and not self.scopes:
            inplace = any(k.arg == "inplace" and isinstance(k.value, ast.Constant)
                          and k.value.value is True for k in node.keywords)
            if (inplace or func.attr in MUTATING_METHODS) and \
                    (root := root_name(func.value)) is not None:
                self.mutated.add(root)
        super().visit_Call(node)


def root_name(node: ast.AST) -> str | None:
    """`df` of `df.a["b"].c`; None when the chain does not start at a name."""
    while isinstance(node, (ast.Attribute, ast.Subscript)):
        node = node.value
    return node.id if isinstance(node, ast.Name) else None

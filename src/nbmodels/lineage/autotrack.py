"""Autotrack's rule: which cells fit a model, from their source alone.

A cell fits a model when, outside any function or class body, it calls a method named
`fit`, `fit_transform`, `fit_predict`, `partial_fit` or `train` (`clf.fit(X, y)`,
`Pipeline(...).fit(...)`, `xgb.train(...)`, `lgb.train(...)`, `model.train()` before a
PyTorch loop). A cell that only defines a training function fits nothing until a cell
calls it through one of those methods.
"""

from __future__ import annotations

import ast
import re

from ..capture.cells import _parse
from ..capture.walker import FIT_METHODS

_SCOPES = (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef, ast.Lambda)
# A call of one of FIT_METHODS as text: only cells with one are parsed (`X_train` is not)
_FIT_CALL = re.compile(rf"\.\s*(?:{'|'.join(sorted(FIT_METHODS))})\s*\(")


def fits_model(source: str) -> bool:
    """Whether a cell (as typed: IPython lines are read as `pass`) fits a model."""
    if _FIT_CALL.search(source) is None:  # most cells stop here, unparsed
        return False
    tree = _parse(source)
    if tree is None:
        return False
    stack: list[ast.AST] = list(tree.body)
    while stack:
        node = stack.pop()
        if isinstance(node, _SCOPES):
            continue
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) \
                and node.func.attr in FIT_METHODS:
            return True
        stack.extend(ast.iter_child_nodes(node))
    return False

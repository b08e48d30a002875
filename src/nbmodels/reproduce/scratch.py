"""Running recorded cells again in a scratch namespace, away from the user's kernel.

A cell's source is run as Python: unchanged when it parses, else through IPython's own
input transformer (when IPython is importable; without it, IPython lines become `pass`).
Its `%%track` line is dropped: the body is what ran. What the transformed code asks of
`get_ipython()` reaches a `ScratchShell`, never the kernel: `%time`/`%%time`,
`%%capture`, `%timeit`, `%prun` run their Python once in the scratch namespace; every other
magic and shell command (`%matplotlib`, `%pip`, `!ls`, `%run`) is left out and listed.

While cells run (`scratch_context`): the working directory is the notebook's folder, what
they print is dropped, figures they open are closed, and the random states of `random`,
NumPy's global generator and torch are put back afterwards, so the kernel's own next
random numbers do not change.
"""

from __future__ import annotations

import ast
import builtins
import contextlib
import io
import os
import re
import sys
from typing import Any

from ..errors import MissingDataError, ReproduceError

_TRACK_LINE = re.compile(r"\s*%%track(?=\s|$)")
_IPYTHON_LINE = re.compile(r"^(\s*)(?:[%!].*|\w+\s*=\s*[%!].*)$")
# Magics whose argument (or cell body) is Python to run once in the namespace
_PYTHON_LINE_MAGICS = frozenset({"time", "timeit", "prun"})
_PYTHON_CELL_MAGICS = frozenset({"time", "timeit", "prun", "capture", "track"})


def python_source(source: str) -> str:
    """`source` (a cell as typed) as the Python that runs it, its `%%track` line dropped."""
    first, _, rest = source.partition("\n")
    if _TRACK_LINE.match(first):
        source = rest
    try:
        ast.parse(source)
        return source
    except (SyntaxError, ValueError):
        pass
    try:
        from IPython.core.inputtransformer2 import TransformerManager
    except ImportError:
        return _without_ipython_lines(source)
    return TransformerManager().transform_cell(source)


def _without_ipython_lines(source: str) -> str:
    lines = source.splitlines()
    if lines and lines[0].lstrip().startswith("%%"):
        magic = lines[0].lstrip()[2:].split(maxsplit=1)
        if magic and magic[0] in _PYTHON_CELL_MAGICS:
            lines = lines[1:]
        else:
            lines = []
    return "\n".join(_IPYTHON_LINE.sub(r"\1pass", line) for line in lines) + "\n"


class ScratchShell:
    """What `get_ipython()` returns to a re-run cell (see the module docstring)."""

    def __init__(self, namespace: dict):
        self.user_ns = namespace
        self.skipped: list[str] = []

    def run_line_magic(self, name: str, line: str, _stack_depth: int = 1) -> Any:
        if name in _PYTHON_LINE_MAGICS:
            return self._run(line)
        self._skip(f"%{name}")
        return None

    def run_cell_magic(self, name: str, line: str, cell: str) -> Any:
        if name in _PYTHON_CELL_MAGICS:
            return self._run(python_source(cell))
        self._skip(f"%%{name}")
        return None

    def system(self, command: str) -> None:
        self._skip("!" + command.split(maxsplit=1)[0] if command.strip() else "!")

    def getoutput(self, command: str, split: bool = True) -> list:
        self.system(command)
        return []

    def _skip(self, what: str) -> None:
        if what not in self.skipped:
            self.skipped.append(what)

    def _run(self, code: str) -> Any:
        tree = ast.parse(code)
        if len(tree.body) == 1 and isinstance(tree.body[0], ast.Expr):
            return eval(compile(ast.Expression(tree.body[0].value), "<magic>", "eval"),
                        self.user_ns)
        exec(compile(tree, "<magic>", "exec"), self.user_ns)
        return None


def scratch_namespace() -> tuple[dict, ScratchShell]:
    """A fresh namespace as a notebook's starts, with its own `get_ipython()` and a
    `display()` that shows nothing."""
    namespace: dict = {"__name__": "__main__", "__builtins__": builtins}
    shell = ScratchShell(namespace)
    namespace["get_ipython"] = lambda: shell
    namespace["display"] = lambda *objs, **kwargs: None
    return namespace, shell


@contextlib.contextmanager
def scratch_context(folder: str | None):
    """Run cells in `folder` (None: here) with their output dropped, their figures closed
    and the process's random states as they were before (see the module docstring)."""
    cwd = os.getcwd()
    figures = _open_figures()
    states = _random_states()
    sink = io.StringIO()
    try:
        if folder:
            os.chdir(folder)
        with contextlib.redirect_stdout(sink), contextlib.redirect_stderr(sink):
            yield
    finally:
        os.chdir(cwd)
        _close_figures(figures)
        _restore_random_states(states)


def run_cell(python: str | ast.Module, namespace: dict, label: str, *, mode: str, name_hint: str = ""
             ) -> None:
    """Execute `python` (source or a parsed module) in `namespace`; what it raises becomes one `ReproduceError` line
    naming `label` (`MissingDataError` for a file that is not there); `name_hint` is added
    to a `NameError`'s."""
    try:
        exec(compile(python, f"<reproduce {label}>", "exec"), namespace)
    except KeyboardInterrupt:
        raise
    except BaseException as exc:  # noqa: BLE001  a cell's SystemExit must not end the CLI
        raise failure(exc, label, mode, name_hint) from None


def failure(exc: BaseException, label: str, mode: str, name_hint: str = "") -> ReproduceError:
    """The one-line error for a cell that raised `exc` when re-run."""
    if isinstance(exc, FileNotFoundError):
        path = os.fspath(exc.filename) if exc.filename is not None else str(exc)
        where = "" if os.path.isabs(path) else f" (relative to {os.getcwd()})"
        hint = "put it back where the lineage read it" + (
            ", or reproduce --from-inputs (the stored inputs, no files)"
            if mode == "scratch" else "")
        return MissingDataError(f"cannot reproduce: {label} reads {path}{where}, which is not "
                                f"there: {hint}")
    message = f"cannot reproduce: {label} raised {type(exc).__name__}: {exc}"
    if isinstance(exc, NameError) and name_hint:
        message += f": {name_hint}"
    return ReproduceError(message.replace("\n", " "))


def _open_figures() -> set:
    plt = sys.modules.get("matplotlib.pyplot")
    return set(plt.get_fignums()) if plt is not None else set()


def _close_figures(before: set) -> None:
    plt = sys.modules.get("matplotlib.pyplot")
    if plt is not None:
        for number in set(plt.get_fignums()) - before:
            plt.close(number)


def _random_states() -> dict:
    import random

    states: dict[str, Any] = {"random": random.getstate()}
    numpy = sys.modules.get("numpy")
    if numpy is not None:
        states["numpy"] = numpy.random.get_state()
    torch = sys.modules.get("torch")
    if torch is not None:
        states["torch"] = torch.random.get_rng_state()
    return states


def _restore_random_states(states: dict) -> None:
    import random

    random.setstate(states["random"])
    if "numpy" in states:
        sys.modules["numpy"].random.set_state(states["numpy"])
    if "torch" in states:
        sys.modules["torch"].random.set_rng_state(states["torch"])

"""Reading a magic's line: split like a POSIX shell (`shlex`), then `argparse` through the
magic's `magic_arguments`; Python expressions where a magic takes a value from the kernel.

    %register models["rf"] rf --tag owner="Jane Doe" --note 'the "baseline" model'

gives VAR `models["rf"]` (an expression is taken as typed), NAME `rf`, tag owner `Jane Doe`
and note `the "baseline" model`. A line that does not split (an unterminated quote) is one
`UsageError` line.
"""

from __future__ import annotations

import ast
import builtins
import functools
import keyword
import re
import shlex

from IPython.core.error import UsageError

_WHITESPACE = " \t\r\n"  # shlex's
# Names IPython keeps in the namespace for its own use: output history and input history.
_IPYTHON_NAME = re.compile(r"_+|_\d+|_i+|_i\d+|_[iod]h")


@functools.lru_cache(maxsize=256)  # the same line again (a re-run cell): no argparse
def parse(magic, line: str, shown_as: str | None = None):
    """The magic's arguments from `line` (a `magic_arguments`-decorated function);
    `shown_as` names it in errors (default `%NAME`). Callers must not change the result."""
    try:
        words = shlex.split(line)
    except ValueError as exc:  # "No closing quotation", "No escaped character"
        raise UsageError(f"{shown_as or '%' + magic.__name__}: cannot read {line.strip()!r}: "
                         f"{str(exc).lower()} (close the quote, or escape it with \\)") from None
    try:
        return magic.parser.parse_args(words)
    except UsageError as exc:  # argparse's message quotes the words as typed
        raise UsageError(one_line(str(exc))) from None


def one_line(message: str) -> str:
    """`message` safe to show as one line anywhere: characters that are not printable (line
    breaks, ESC, BEL, NUL, lone surrogates, zero-width spaces) as their escapes (`\\x1b`)."""
    if message.isprintable():
        return message
    return "".join(ch if ch.isprintable() else ch.encode("unicode_escape").decode("ascii")
                   for ch in message)


def expression(value: str, line: str) -> str:
    """`value` (an argument parsed from `line`) as Python source: the word as typed when it
    is an expression other than a string literal (`models["rf"]`, which a shell would make
    `models[rf]`), else its shell value (so `'models["rf"]'` works too)."""
    for raw in _raw_words(line):
        if _shell_value(raw) == value:
            return raw if raw != value and _is_expression(raw) else value
    return value


def _raw_words(line: str) -> list[str]:
    """The words of `line` as typed, quotes included, split where `shlex.split` splits."""
    words, i, n = [], 0, len(line)
    while i < n:
        if line[i] in _WHITESPACE:
            i += 1
            continue
        start = i
        while i < n and line[i] not in _WHITESPACE:
            if line[i] == "\\":
                i += 2
            elif line[i] in "'\"":
                quote, i = line[i], i + 1
                while i < n and line[i] != quote:
                    i += 2 if quote == '"' and line[i] == "\\" else 1
                i += 1
            else:
                i += 1
        words.append(line[start:min(i, n)])
    return words


def _shell_value(raw: str) -> str | None:
    try:
        parts = shlex.split(raw)
    except ValueError:
        return None
    return parts[0] if len(parts) == 1 else None


def _is_expression(text: str) -> bool:
    try:
        tree = ast.parse(text, mode="eval")
    except (SyntaxError, ValueError):
        return False
    return not (isinstance(tree.body, ast.Constant) and isinstance(tree.body.value, str))


def evaluate(shell, source: str, what: str):
    """The value of `source` in the kernel: a variable, or an expression evaluated in the
    user's namespace. `what` names the argument in the error line."""
    namespace = shell.user_ns
    if source.isidentifier():
        if source not in namespace:
            raise UsageError(f"{what}: no variable {source!r} in the kernel")
        return namespace[source]
    try:
        return eval(compile(source, f"<{what}>", "eval"), shell.user_global_ns, namespace)
    except Exception as exc:  # the user's expression: any error is theirs, shown in one line
        detail = f"{type(exc).__name__}: {exc}".splitlines()[0]
        raise UsageError(f"{what}: cannot evaluate {source!r}: {detail}") from None


def name_for(source: str) -> str:
    """A default model name and variable for an expression: its words joined by `_`
    (`gs.best_estimator_` -> `gs_best_estimator`, `models["rf"]` -> `models_rf`)."""
    name = "_".join(re.findall(r"\w+", source)).strip("_")[:128]
    if not name:
        raise UsageError(f"cannot make a model name from {source!r}: give NAME")
    return name if name.isidentifier() else f"model_{name}"[:128]


def split_names(text: str | None) -> tuple[str, ...]:
    """`a,b, c` -> ("a", "b", "c")."""
    return tuple(n.strip() for n in (text or "").split(",") if n.strip())


def parse_tags(pairs: list[str] | None) -> dict[str, str]:
    """`["k=v", "owner=Jane Doe"]` -> {"k": "v", "owner": "Jane Doe"}."""
    tags = {}
    for pair in pairs or []:
        key, sep, value = pair.partition("=")
        if not sep or not key.strip():
            raise UsageError(f"bad --tag {pair!r}: use KEY=VALUE")
        tags[key.strip()] = value
    return tags


def check_variable_name(name: str, shell, what: str = "--as") -> str:
    """`name` if binding it in the kernel is safe, else one `UsageError` line: not a
    keyword, a dunder name (`__builtins__`), a builtin or a name IPython uses (`In`, `_`)."""
    if not isinstance(name, str) or not name.isidentifier() or keyword.iskeyword(name):
        problem = "is not a Python variable name"
    elif name.startswith("__") and name.endswith("__"):
        problem = "is a name Python itself uses"
    elif name in shell.user_ns_hidden or _IPYTHON_NAME.fullmatch(name) or \
            name in ("get_ipython", "exit", "quit", "In", "Out"):
        problem = "is a name IPython uses"
    elif hasattr(builtins, name):
        problem = f"would hide the builtin {name}()" if callable(getattr(builtins, name)) \
            else "would hide a builtin"
    else:
        return name
    raise UsageError(f"bad {what} {name!r}: it {problem}; give another variable name")

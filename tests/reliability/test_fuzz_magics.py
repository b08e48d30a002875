"""Every magic's argument line, fuzzed through one real IPython shell.

Hypothesis builds lines from quotes, backslashes, the magics' flags, `=`, Unicode, control
characters, lone surrogates and the names a notebook has (models, REFs, data, reserved
names), and runs each as a cell (`%register LINE`, `%%track LINE` above a cell that sets a
sentinel), as IPython runs a notebook cell. Each line either works, or gives exactly one
`UsageError` line (no other exception, no traceback) and then writes nothing (every row of
every table and the object files' names, hashed, before and after), binds nothing in the
kernel, and for `%%track` does not run the cell. A `%%track` line that works records one run.
"""

from __future__ import annotations

import shlex
import warnings

import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st
from hypothesis.control import currently_in_test_context
from IPython.core.error import UsageError
from IPython.utils.capture import capture_output

import nbmodels
from nbmodels import Registry, api

from .test_fuzz import content

FUZZ = settings(max_examples=50, deadline=None, database=None,
                suppress_health_check=[HealthCheck.function_scoped_fixture,
                                       HealthCheck.too_slow])

# ---- what the lines are made of ------------------------------------------------------------

# Characters that break naive quoting and printing. Line breaks (for str.splitlines) are
# left to the cases that call the magic without a cell around the line.
CHARS = ["'", '"', "\\", "=", "@", ",", "$", "{", "}", "é", "e\u0301", "\u200b", "\u00a0",
         "\x00", "\x1b[31m", "\x07", "\x7f", "\ud800", "\udcff", "\t", "😀", "模型"]
BREAKS = ["\n", "\r", "\x0b", "\x0c", "\x1c", "\x85", "\u2028"]
nasty = st.lists(st.sampled_from(CHARS) | st.text(max_size=2), min_size=1, max_size=4).map(
    "".join)

# Values each argument takes: (what a user means, likely mistakes).
POOLS = {
    "var": (["clf", "rf", "gs", "gs.best_estimator_", 'models["rf"]', "models['rf']"],
            ["models[rf]", "X_test", "y_test", "C", "None", "LogisticRegression", "nope",
             "clf.fit(X_train, y_train)", "1/0", "[clf][0]", "{C}", "$C", "_i3"]),
    "name": (["bc", "m", "new-model", "café", "e\u0301", "模型", "a.b_c-1", "1x"],
             ["bad/name", "x" * 129, "-x", "bc@1.0.0", "", "a b"]),
    "bump": (["major", "minor", "patch"], ["huge", "MAJOR"]),
    "stage": (["none", "staging", "production", "archived"], ["prod", "Production", "bc"]),
    "text": (["first try", 'the "baseline" model', "it's", "a\\b", "<b>x</b>", "100%",
              "$C", "{C}", "é ü 模型"], ["", "-", "--note"]),
    "tag": (["team=risk", "owner=Jane Doe", "k=", "a=b=c", "é=ü"], ["=v", "novalue"]),
    "format": (["pickle5", "joblib", "skops", "auto"],
               ["xgboost-json", "lightgbm", "safetensors", "onnx", "SKOPS", ""]),
    "ref": (["bc", "bc@1.0.0", "bc@1.1.0", "bc@staging", "bc@latest", "RUN"],
            ["bc@production", "bc@archived", "bc@9.9.9", "bc@1.0", "RUN@1.0.0", "nope", "m",
             "0" * 26, "clf", "bc@1.0.0\n"]),
    "as": (["old", "back", "x1", "clf", "é"],
           ["__builtins__", "print", "In", "_", "_i3", "1x", "a-b", "class", "get_ipython"]),
    "X": (["X_test", "X_train", "X_test.iloc[:10]"],
          ["y_test", "clf", "C", "nope", "models", "X_test[['mean radius']]", "X_test.values"]),
    "y": (["y_test", "y_train", "y_test.iloc[:10]", "y_test.values"],
          ["X_test", "clf", "C", "y_train.iloc[:3]"]),
    "names": (["C", "accuracy,C", "a,b", "fuzz_value"], [",", ""]),
    "count": (["1", "10", "50"], ["0", "-1", "x", "99999999999999999999"]),
    "switch": (["on", "off"], ["ON", "yes", "1", "true", "of"]),
}
# magic -> (positionals, each (kind, required); flags: flag -> kind, or None for a switch)
GRAMMAR = {
    "track": ([("text", False)], {"--note": "text", "--tag": "tag", "--params": "names",
                                  "--metrics": "names", "--ignore": "names"}),
    "register": ([("var", False), ("name", False)],
                 {"--version": "version", "--bump": "bump", "--stage": "stage",
                  "--note": "text", "--tag": "tag", "--format": "format"}),
    "restore": ([("ref", True)], {"--as": "as", "--all": None}),
    "stage": ([("ref", True), ("stage", True)], {"--note": "text"}),
    "compare": ([("ref", True), ("ref", True), ("ref", False)],
                {"--on": "X y", "--no-chart": None}),
    "models": ([("name", False)], {"--page-size": "count"}),
    "lineage": ([("ref", False)], {}),
    "reproduce": ([("ref", False)], {"--from-inputs": None, "--from-scratch": None}),
    "autotrack": ([("switch", True)], {}),
}
STRAY = ["--nosuch", "-x", "--", "-", "--not", "--all", "extra"]


def _quoted(value: str, how: str) -> str:
    """`value` as a user might type it: `single` and `double` quote naively, so a quote
    inside the value may break the line."""
    if how == "shell":
        return shlex.quote(value)
    if how == "single":
        return f"'{value}'"
    if how == "double":
        return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'
    return value


@st.composite
def value_of(draw, kind: str) -> str:
    """A value for an argument of `kind`: mostly what a user means, else a likely mistake
    or any nasty text; quoted as a user might (or might wrongly) quote it."""
    roll = draw(st.integers(0, 19))
    if kind == "version" and roll < 12:  # new: a version that exists is a conflict
        value = ".".join(map(str, draw(st.tuples(*[st.integers(0, 30)] * 3))))
    elif kind == "version":
        value = draw(st.sampled_from(["1.0.0", "1.0", "01.0.0", "v1.0.0", "1.0.0-rc1",
                                      "0.0.9223372036854775808"]))
    else:
        good, odd = POOLS[kind]
        value = draw(st.sampled_from(good) if roll < 12 else st.sampled_from(odd)
                     if roll < 17 else nasty)
    how = draw(st.sampled_from(["plain", "plain", "plain", "shell", "single", "double"]))
    return _quoted(value, how)


@st.composite
def magic_line(draw, magic: str) -> str:
    """A line built as the magic's grammar says, with likely and unlikely values, flags in
    any order, `--flag=value` forms, and now and then a stray word."""
    positionals, flags = GRAMMAR[magic]
    words = [draw(value_of(kind)) for kind, required in positionals
             if required or draw(st.booleans())]
    for flag in draw(st.lists(st.sampled_from(sorted(flags)), max_size=3)) if flags else ():
        kinds = flags[flag]
        values = [draw(value_of(kind)) for kind in (kinds or "").split()]
        if len(values) == 1 and draw(st.integers(0, 4)) == 0:
            words.append(f"{flag}={values[0]}")
        else:
            words += [flag, *values]
    if draw(st.integers(0, 7)) == 0:
        words.insert(draw(st.integers(0, len(words))), draw(st.sampled_from(STRAY) | nasty))
    if draw(st.integers(0, 5)) == 0:
        words = draw(st.permutations(words))
    return " ".join(words)


piece = st.sampled_from(STRAY + [f for _, flags in GRAMMAR.values() for f in flags]) | \
    st.sampled_from([v for pools in POOLS.values() for pool in pools for v in pool]) | nasty
chaos = st.lists(st.tuples(st.sampled_from([" ", " ", "", "  "]), piece), max_size=8).map(
    lambda parts: "".join(sep + word for sep, word in parts).strip(" "))


def _without_breaks(line: str) -> bool:
    return len(line.splitlines()) <= 1 and "\n" not in line


def lines_for(magic: str, breaks: bool = False):
    """Lines for `magic`: four in five built from its grammar, the rest any pieces."""
    found = st.one_of(*[magic_line(magic)] * 4, chaos)
    if breaks:
        return st.tuples(found, st.sampled_from(BREAKS), st.integers(0, 40)).map(
            lambda t: t[0][:t[2]] + t[1] + t[0][t[2]:])
    return found.filter(_without_breaks)


SENTINEL = "fuzz_sentinel"
TRACKED = "fuzz_sentinel = 1\nfuzz_value = 2\n"


@pytest.fixture(scope="module")
def kernel_values(breast_cancer):
    """What the fuzzed notebook holds: fitted models, data, a search, a dict of models."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import GridSearchCV

    columns = ["mean radius", "mean texture"]  # two: each fit takes milliseconds
    X_train, X_test, y_train, y_test = breast_cancer
    X_train, X_test = X_train[columns], X_test[columns]
    gs = GridSearchCV(LogisticRegression(max_iter=1000), {"C": [0.5, 1.0]}, cv=2).fit(
        X_train, y_train)
    return {"X_train": X_train, "y_train": y_train, "X_test": X_test, "y_test": y_test,
            "gs": gs, "models": {"rf": gs.best_estimator_}, "rf": gs.best_estimator_,
            "LogisticRegression": LogisticRegression}


@pytest.fixture(scope="module")
def module_home(tmp_path_factory):
    return tmp_path_factory.mktemp("fuzz-magics") / "registry"


@pytest.fixture
def registry_home(module_home, monkeypatch):
    """One registry for the whole module (conftest's gives each test a new one: setting
    that up again would cost more than the fuzzing)."""
    monkeypatch.setenv("NBMODELS_HOME", str(module_home))
    monkeypatch.chdir(module_home.parent)
    return module_home


@pytest.fixture(scope="module")
def notebook(_shell, module_home, kernel_values):
    """The one shell, holding the values above, with a tracked run and `bc` 1.0.0 and 1.1.0
    (staging) in the module's registry."""
    shell = _shell
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("NBMODELS_HOME", str(module_home))
        patch.chdir(module_home.parent)
        api.session.registries.clear()
        shell.reset(new_session=False)
        shell.run_line_magic("config", "NBModels.home = None")
        shell.push(kernel_values)
        for c, extra in ((1.0, ""), (0.5, " --stage staging")):
            _run(shell, f"%%track\nC = {c}\nclf = LogisticRegression(C=C, max_iter=1000)"
                        f".fit(X_train, y_train)\naccuracy = clf.score(X_test, y_test)")
            _run(shell, f"%register clf bc{extra}")
        shell.user_ns["fuzz_run_id"] = nbmodels.last_run().id
        base = dict(shell.user_ns)
    yield shell, base
    shell.reset(new_session=False)
    for registry in api.session.registries.values():
        registry.close()
    api.session.registries.clear()
    api.session.last_run_id = None


def _run(shell, cell: str):
    result = shell.run_cell(cell, store_history=True)
    assert result.success, result.error_in_exec or result.error_before_exec
    return result


def _visible(namespace: dict) -> dict:
    return {k: id(v) for k, v in namespace.items() if not k.startswith("_")}


def _count(what: str) -> None:
    """Tally outcomes for `pytest --hypothesis-show-statistics` (lines that work matter)."""
    if currently_in_test_context():
        event(what)


def assert_one_clean_line(message: str, line: str) -> None:
    """One line that any output can carry: printable (no ESC, BEL, NUL, line break), and
    encodable (a lone surrogate cannot be sent to the notebook)."""
    assert message.strip(), line
    assert all(ch.isprintable() for ch in message), (line, message)
    message.encode("utf-8")


def check_line(notebook, cell: str, *, tracked: bool = False) -> UsageError | None:
    """Run `cell`; it works, or is one UsageError line (returned) that wrote and bound
    nothing."""
    shell, base = notebook
    shell.user_ns.update(base)  # what a working line rebound (%restore --as X_test)
    shell.user_ns.pop(SENTINEL, None)
    cell = cell.replace("RUN", base["fuzz_run_id"][:10])
    registry = Registry()
    before, runs, names = content(registry), registry.count_runs(), _visible(shell.user_ns)
    with warnings.catch_warnings(record=True), capture_output() as shown:
        warnings.simplefilter("always")  # an unrecognized object warns: that still works
        result = shell.run_cell(cell, store_history=False)
    assert result.error_before_exec is None, (cell, result.error_before_exec)
    error = result.error_in_exec
    _count(f"{cell.split(' ', 1)[0]}: {'works' if error is None else 'UsageError'}")
    if error is None:
        assert "Traceback" not in shown.stderr, (cell, shown.stderr)
        if tracked:  # the cell ran, and was recorded
            assert shell.user_ns[SENTINEL] == 1
            assert registry.count_runs() == runs + 1, (cell, shown.stderr)
        return None
    assert type(error) is UsageError, (cell, repr(error))
    message = str(error)
    assert_one_clean_line(message, cell)
    assert shown.stderr.strip() == f"UsageError: {message}".strip(), (cell, shown.stderr)
    assert content(registry) == before, cell
    assert _visible(shell.user_ns) == names, cell
    assert SENTINEL not in shell.user_ns, cell
    return error


def check_line_magic(notebook, magic: str, line: str) -> UsageError | None:
    """`line` straight to the magic (a line a cell cannot hold: with line breaks); it
    works, or is one UsageError line (returned) that wrote and bound nothing."""
    shell, base = notebook
    shell.user_ns.update(base)
    registry = Registry()
    before, names = content(registry), _visible(shell.user_ns)
    try:
        with warnings.catch_warnings(record=True), capture_output():
            warnings.simplefilter("always")
            shell.run_line_magic(magic, line.replace("RUN", base["fuzz_run_id"][:10]))
    except UsageError as error:
        _count(f"%{magic}: UsageError")
        assert_one_clean_line(str(error), line)
        assert content(registry) == before, line
        assert _visible(shell.user_ns) == names, line
        return error
    return None


# ---- %%track ------------------------------------------------------------------------------

@pytest.mark.slow
@FUZZ
@given(line=lines_for("track"), above=st.sampled_from(["", "", "%%time\n", "%%capture\n"]))
def test_any_track_line_works_or_runs_nothing(notebook, line, above):
    check_line(notebook, f"%%track {line}\n{above}{TRACKED}", tracked=True)


@pytest.mark.slow
@FUZZ
@given(line=lines_for("track") | lines_for("track", breaks=True),
       cell=st.sampled_from([TRACKED, TRACKED, "", "%%time\n" + TRACKED, "%%bash\necho hi\n",
                             "%%timeit -n1 -r1\nx = 1\n"]))
def test_any_track_line_run_by_run_cell_magic(notebook, line, cell):
    """`shell.run_cell_magic("track", LINE, CELL)`, as scripts and other magics call it."""
    shell, base = notebook
    shell.user_ns.update(base)
    shell.user_ns.pop(SENTINEL, None)
    registry = Registry()
    before, runs = content(registry), registry.count_runs()
    try:
        with warnings.catch_warnings(record=True), capture_output():
            warnings.simplefilter("always")
            shell.run_cell_magic("track", line, cell)
    except UsageError as error:
        _count("UsageError")
        assert_one_clean_line(str(error), line)
        assert content(registry) == before and SENTINEL not in shell.user_ns, line
        return
    _count("works")
    assert registry.count_runs() == runs + 1, line
    assert shell.user_ns[SENTINEL] == 1


# ---- line magics ----------------------------------------------------------------------------

LINE_MAGICS = ["register", "restore", "stage", "compare", "models", "lineage", "reproduce",
               "autotrack"]


@pytest.mark.slow
@pytest.mark.parametrize("magic", LINE_MAGICS)
@FUZZ
@given(data=st.data())
def test_any_line_magic_line_works_or_writes_nothing(notebook, magic, data):
    check_line(notebook, f"%{magic} {data.draw(lines_for(magic), label='line')}")


@pytest.mark.slow
@pytest.mark.parametrize("magic", LINE_MAGICS)
@FUZZ
@given(data=st.data())
def test_any_line_with_line_breaks_works_or_writes_nothing(notebook, magic, data):
    """Lines a cell cannot hold (a notebook splits them), given to the magic directly."""
    check_line_magic(notebook, magic, data.draw(lines_for(magic, breaks=True), label="line"))


# Lines the fuzzing above found wrong (marked), and lines close to them: whether each
# works, or the words its one line must hold.
FOUND = [
    ("%register clf m --format skops", None),
    ("%register clf m --format ''", "invalid choice"),
    ("%register clf m --note \ud800", "not valid text"),
    ("%register X_test", "not a model"),
    ("%register clf m \x1f --note x", "unrecognized arguments: \\x1f"),  # found: raw \x1f
    ("%register clf m \u200b", "unrecognized arguments: \\u200b"),  # found: raw \u200b
    ("%register clf \u200b", "bad model name '\\u200b'"),
    ("%restore bc --as __builtins__", "bad --as"),
    ("%restore RUN --all", None),
    ("%compare bc bc --on clf clf", "data with rows"),  # found: TypeError from len()
    ("%compare bc bc --on X_test C", "data with rows"),
    ("%compare bc bc --on y_test X_test", "cannot score"),  # ValueError from predict
    ("%compare bc bc --on X_test.values y_test", None),
    ("%models --page-size 0", "--page-size"),
    ("%%track --note \ud800\n" + TRACKED, "not valid text"),  # found: ran, recorded nothing
    ("%%track exp --tag 'k=\udcff'\n" + TRACKED, "not valid text"),
    ("%%track \udcff\n" + TRACKED, "not valid text"),
    ("%%track --tag owner=\"Jane\n" + TRACKED, "no closing quotation"),
    ("%%track --params '' --metrics , --ignore ,,\n" + TRACKED, None),
    ("%%track clf \u200b\n" + TRACKED, "unrecognized arguments: \\u200b"),  # found
]


@pytest.mark.parametrize("cell,refused", FOUND)
def test_lines_found_by_fuzzing(notebook, cell, refused):
    error = check_line(notebook, cell, tracked=cell.startswith("%%track"))
    assert (error is None) == (refused is None), (cell, error)
    assert refused is None or refused in str(error), str(error)


@pytest.mark.parametrize("magic,line", [("register", "clf bc --version '1.0.0\n'"),
                                        ("stage", "bc@1.0.0 'staging\n'"),
                                        ("restore", "bc --as 'x\ny'"),
                                        ("compare", "bc 'bc\n'"),
                                        ("register", "clf 'bc\n'")])
def test_a_line_break_in_a_value_is_one_line(notebook, magic, line):
    error = check_line_magic(notebook, magic, line)
    assert error is not None and "\\n" in str(error), (line, error)


def test_every_registered_magic_is_fuzzed(notebook):
    """A magic added later must join GRAMMAR above."""
    magics = notebook[0].magics_manager.magics
    ours = {name for kind in ("line", "cell") for name, fn in magics[kind].items()
            if getattr(fn, "__module__", "").startswith("nbmodels")}
    assert ours and ours <= set(GRAMMAR), ours - set(GRAMMAR)

"""Bad input, fuzzed: each input works or gives one clear line, and nothing is written.

Hypothesis draws REFs, model names, versions, tags and notes (lone surrogates, control
characters, newlines, very long text included) and argument lists for every CLI command.
"Nothing written" is checked on the database's content: every row of every table, hashed,
and the object files' names, before and after. A CLI command runs as in a UTF-8 terminal
(stdout strict, stderr with backslash escapes), so printing text a terminal cannot take
fails the test too.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import os
import shutil
import subprocess
import sys
from datetime import datetime, timezone

import pytest
from hypothesis import HealthCheck, assume, example, given, settings
from hypothesis import strategies as st

from nbmodels import InvalidInputError, NbModelsError, Registry
from nbmodels.cli import build_parser, main
from nbmodels.registry import CellRecord

from ..helpers import record_fit

FUZZ = settings(max_examples=100, deadline=None, database=None,
                suppress_health_check=[HealthCheck.function_scoped_fixture,
                                       HealthCheck.too_slow])

# text with what breaks naive code: lone surrogates, control characters, separators
NASTY = ["\ud800", "\udcff", "\n", "\r", "\t", "\x00", "\x1b[31m", "\x07", "@", ".", "-",
         "..", "/", "\\", "'", '"', "%s", "{}", " ", "\u200b", "é", "e\u0301", "ﬁ", "😀"]
text = st.one_of(st.text(st.characters(exclude_categories=[]), max_size=40),
                 st.lists(st.sampled_from(NASTY) | st.text(max_size=3), max_size=6).map("".join),
                 st.text(st.sampled_from("abc019._-@"), min_size=0, max_size=300))
versions = st.one_of(text, st.tuples(*[st.integers(0, 10**20)] * 3).map(
    lambda t: ".".join(map(str, t))), st.sampled_from(["1.0.0", "01.0.0", "1.0", "1.0.0\n",
                                                       " 1.0.0", "1.0.0-rc1", "v1.0.0"]))


@pytest.fixture(scope="module")
def template(tmp_path_factory):
    """A registry with `clf` 1.0.0 (from a tracked run) and 1.1.0 (staging)."""
    from sklearn.linear_model import LogisticRegression

    home = tmp_path_factory.mktemp("fuzz") / ".nbmodels"
    registry = Registry(home)
    model = record_fit(registry, LogisticRegression().fit([[0], [1]], [0, 1]), "fit()",
                       accuracy=0.9)
    registry.register(model, "clf")
    registry.register(LogisticRegression(C=0.5).fit([[0], [1]], [0, 1]), "clf", stage="staging")
    registry.close()
    return home


@pytest.fixture
def home(template, tmp_path):
    """A copy of the template for one test (shared by that test's examples)."""
    copy = tmp_path / "fuzzed" / ".nbmodels"
    shutil.copytree(template, copy)
    return copy


@pytest.fixture
def registry(home):
    registry = Registry(home)
    yield registry
    registry.close()


def content(registry: Registry) -> str:
    """A digest of every row of every table and of the object files' names."""
    digest = hashlib.sha256()
    db = registry.store.db
    for (table,) in db.execute("SELECT name FROM sqlite_master WHERE type = 'table' "
                               "ORDER BY name").fetchall():
        for row in db.execute(f"SELECT * FROM [{table}] ORDER BY rowid").fetchall():
            digest.update(repr((table, row)).encode("utf-8", "backslashreplace"))
    for name in sorted(registry.objects.hashes()):
        digest.update(name.encode())
    return digest.hexdigest()


def _number_for(value) -> float:
    """A positive float that differs for different values: models fitted with it as a
    hyperparameter have different bytes (equal bytes register no new version)."""
    return int(hashlib.sha256(repr(value).encode("utf-8", "backslashreplace")).hexdigest()[:8],
               16) + 1.0


def one_line(error: Exception) -> bool:
    message = str(error)
    return bool(message.strip()) and "\n" not in message and "Traceback" not in message


def assert_clear_refusal(error: Exception) -> None:
    assert isinstance(error, NbModelsError), f"not a registry error: {error!r}"
    assert one_line(error), repr(str(error))


# ---- the API ---------------------------------------------------------------------------------

@pytest.mark.slow
@FUZZ
@given(ref=text)
@example(ref="clf@1.0.0\n")
@example(ref="clf\x00")
@example(ref="0" * 26)
def test_any_ref_resolves_or_is_refused_in_one_line(registry, ref):
    before = content(registry)
    for call in (registry.resolve, registry.get, registry.version_detail):
        try:
            found = call(ref)
        except Exception as error:
            assert_clear_refusal(error)
        else:
            assert found.to_dict()
    assert content(registry) == before


@pytest.mark.slow
@FUZZ
@given(name=text)
@example(name="clf\n")
@example(name="new\n")
@example(name="a" * 129)
@example(name="e\u0301")
@example(name="x\ud800")
def test_any_model_name_registers_reachably_or_writes_nothing(registry, name):
    """A name that is accepted names a model that is found again by that name."""
    from sklearn.linear_model import LogisticRegression

    before = content(registry)
    try:
        version = registry.register(LogisticRegression(C=3.0).fit([[0], [1]], [0, 1]), name)
    except Exception as error:
        assert_clear_refusal(error)
        assert content(registry) == before
        return
    found = registry.get(f"{version.name}@{version.version}")
    assert (found.ref, found.object_hash) == (version.ref, version.object_hash)
    if version.created:  # a new version is the newest; equal bytes return the old one
        assert registry.get(name).ref == version.ref
    assert version.name in [m.name for m in registry.list_models()]


@pytest.mark.slow
@FUZZ
@given(version=versions)
@example(version="2.0.0\n")
@example(version="0.0.9223372036854775808")
def test_any_version_registers_reachably_or_writes_nothing(registry, version):
    from sklearn.linear_model import LogisticRegression

    before = content(registry)
    try:
        made = registry.register(LogisticRegression(C=7.0, tol=_number_for(version)).fit(
            [[0], [1]], [0, 1]), "fuzzed-versions", version=version)
    except Exception as error:
        assert_clear_refusal(error)
        assert content(registry) == before
        return
    found = registry.get(f"fuzzed-versions@{made.version}")
    assert (found.ref, found.object_hash) == (made.ref, made.object_hash)
    assert made.version == version or not made.created


@pytest.mark.slow
@FUZZ
@given(tags=st.dictionaries(text, text | st.integers() | st.floats(allow_nan=False,
                                                                 allow_infinity=False),
                            max_size=3),
       note=st.none() | text)
def test_any_tags_and_note_are_stored_exactly_or_refused(registry, tags, note):
    from sklearn.linear_model import LogisticRegression

    before = content(registry)
    model = LogisticRegression(C=11.0, tol=_number_for((tags, note)))
    try:
        made = registry.register(model.fit([[0], [1]], [0, 1]), "tagged", tags=tags, note=note)
    except Exception as error:
        assert_clear_refusal(error)
        assert content(registry) == before
        return
    if made.created:
        stored = registry.get(made.ref)
        assert (stored.tags, stored.note) == (tags, note)


@pytest.mark.slow
@FUZZ
@given(stage=text | st.sampled_from(["staging", "production", "archived", "none"]),
       note=st.none() | text)
def test_any_stage_change_works_or_writes_nothing(registry, stage, note):
    before, was = content(registry), registry.get("clf@1.0.0").stage
    try:
        moved = registry.set_stage("clf@1.0.0", stage, note=note)
    except Exception as error:
        assert_clear_refusal(error)
        assert content(registry) == before
        return
    assert moved.stage == stage
    if was == stage:
        assert content(registry) == before
    else:
        last = [t for t in registry.transitions("clf") if t.version == "1.0.0"][-1]
        assert (last.from_stage, last.to_stage, last.note) == (was, stage, note)


@pytest.mark.slow
@FUZZ
@given(column=text | st.sampled_from(["params.C", "metrics.accuracy", "tags.x", "status"]),
       test=st.one_of(text, st.integers(), st.floats(), st.none(), st.booleans(),
                      st.lists(st.integers(), max_size=2), st.binary(max_size=3),
                      st.tuples(text | st.sampled_from(["<", ">=", "!="]),
                                st.integers() | st.floats() | text | st.none()),
                      st.tuples(st.integers()), st.dictionaries(text, st.integers(), max_size=1)),
       order_by=st.none() | text | st.sampled_from(["metrics.accuracy DESC", "id ASC"]))
def test_any_runs_query_answers_or_is_refused(registry, column, test, order_by):
    try:
        frame = registry.runs(where={column: test}, order_by=order_by)
    except Exception as error:
        assert_clear_refusal(error)
        return
    assert len(frame) <= registry.count_runs()


@pytest.mark.slow
@FUZZ
@given(experiment=text, note=st.none() | text, tags=st.dictionaries(text, text, max_size=2))
def test_any_run_record_is_stored_exactly_or_refused(registry, experiment, note, tags):
    before = content(registry)
    now = datetime.now(timezone.utc)
    cell = CellRecord(source="x = 1", experiment=experiment, status="ok", started_at=now,
                      ended_at=now, values={"x": 1}, note=note, tags=tags)
    try:
        run = registry.record_run(cell)
    except Exception as error:
        assert_clear_refusal(error)
        assert content(registry) == before
        return
    assert (run.experiment, run.note, run.tags) == (experiment, note, tags)


# ---- the CLI: every command -----------------------------------------------------------------

COMMANDS = sorted(build_parser()._subparsers._group_actions[0].choices)
TOKENS = ["clf", "clf@1.0.0", "clf@1.1.0", "clf@latest", "clf@staging", "nope@1.0.0",
          "staging", "production", "archived", "none", "--json", "--note", "--experiment",
          "--dry-run", "--link", "--version", "-h", "--bogus", "-", "--", "test"]
argument = text | st.sampled_from(TOKENS)


def run_cli(home, argv: list[str]) -> tuple[int, str, str]:
    """`nbmodels --home HOME ARGV...` in this process, as in a UTF-8 terminal."""
    out = io.TextIOWrapper(io.BytesIO(), encoding="utf-8", errors="strict")
    err = io.TextIOWrapper(io.BytesIO(), encoding="utf-8", errors="backslashreplace")
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            code = main(["--home", str(home), *argv])
        except SystemExit as done:  # only argparse's --help exits
            code = done.code
        out.flush()
        err.flush()
    return code, out.buffer.getvalue().decode(), err.buffer.getvalue().decode()


READ_ONLY = {"runs", "models", "versions", "show", "diff", "history", "verify", "lineage",
             "reproduce", "card"}


@pytest.mark.slow
@FUZZ
@given(command=st.sampled_from(COMMANDS), args=st.lists(argument, max_size=4))
def test_every_cli_command_works_or_says_one_line(home, registry, tmp_path_factory,
                                                  command, args):
    """Any arguments to any command: exit 0, or exit 1 with one line on stderr and no
    change to the registry (exit 2 only for `verify`/`backup` finding damage: none here)."""
    if command == "backup":  # only fresh folders under a temp dir, named by the fuzz
        args = [str(tmp_path_factory.mktemp("dest") / (a.replace("/", "_") or "x"))
                if not a.startswith("-") else a for a in args]
    # not fuzzed here: commands that run code or reach the network
    assume(command not in ("reproduce", "push", "pull", "clone", "remote", "import", "export"))
    before = content(registry)
    code, out, err = run_cli(home, [command, *args])
    if code == 0:
        if command in READ_ONLY or "--dry-run" in args:
            assert content(registry) == before
        return
    assert code == 1, (code, out, err)
    assert len(err.strip().splitlines()) == 1, err
    assert "Traceback" not in err
    assert content(registry) == before


# ---- explicit cases: lone surrogates through each surface -------------------------------------

def test_a_backup_to_a_folder_named_with_a_lone_surrogate_says_where_in_one_line(
        home, registry, tmp_path):
    """A path of bytes that are not UTF-8 (`os.fsdecode` gives a lone surrogate) is a valid
    destination: the backup is made and the line that says where shows the byte escaped
    (found by the fuzz test above: printing it raised UnicodeEncodeError)."""
    dest = tmp_path / os.fsdecode(b"dest\x80")
    code, out, err = run_cli(home, ["backup", str(dest)])
    assert (code, err) == (0, "")
    assert out.startswith("backed up ") and out.rstrip().endswith("dest\\udc80")
    assert len(out.strip().splitlines()) == 1
    assert (dest / "registry.db").exists()


@pytest.mark.parametrize("call", [
    lambda r: r.register(object(), "clf", note="bad \ud800"),
    lambda r: r.register(object(), "clf", tags={"owner": "\udcff"}),
    lambda r: r.register(object(), "clf", tags={"\ud800": "x"}),
    lambda r: r.register(object(), "c\ud800lf"),
    lambda r: r.set_stage("clf@1.0.0", "staging", note="\udfff"),
    lambda r: r.runs(experiment="\ud800"),
    lambda r: r.list_runs("\ud800"),
    lambda r: r.runs(where={"tags.owner": "\ud800"}),
], ids=["register-note", "register-tag-value", "register-tag-key", "register-name",
        "stage-note", "runs-experiment", "list-runs-experiment", "runs-where"])
def test_a_lone_surrogate_is_one_clear_error_and_writes_nothing(registry, call):
    before = content(registry)
    with pytest.raises(InvalidInputError) as caught:
        call(registry)
    assert one_line(caught.value)
    assert content(registry) == before


@pytest.mark.slow  # a fresh interpreter per case
@pytest.mark.parametrize("argv", [
    [b"stage", b"clf@1.0.0", b"staging", b"--note", b"caf\xe9"],
    [b"runs", b"--experiment", b"\xff\xfe"],
    [b"show", b"clf\xff@1.0.0"],
    [b"versions", b"\xed\xa0\x80"],
], ids=["stage-note", "runs-experiment", "show-ref", "versions-name"])
def test_cli_arguments_that_are_not_utf8_are_one_line(home, registry, argv):
    """Bytes that are not UTF-8 on the command line (Latin-1 from an old terminal) become
    lone surrogates in `sys.argv`: one line on stderr, exit 1, nothing written."""
    before = content(registry)
    done = subprocess.run([sys.executable, "-m", "nbmodels.cli", b"--home", str(home).encode(),
                           *argv], capture_output=True)
    assert done.returncode == 1, done.stderr
    assert len(done.stderr.strip().splitlines()) == 1, done.stderr
    assert b"Traceback" not in done.stderr
    assert b"not valid text" in done.stderr or b"bad" in done.stderr
    assert content(registry) == before

"""The tracking core (no IPython), and a `%%track` cell behaving as the untracked cell."""

from __future__ import annotations

import importlib
import subprocess

import pytest
from IPython.utils.capture import capture_output

import nbmodels
from nbmodels import Registry, tracking

# the module: `nbmodels.capture.environment` is also the name of a function in `capture`
environment = importlib.import_module("nbmodels.capture.environment")


def run(shell, cell: str):
    """Run `cell` as a kernel does (history stored); return (result, text shown)."""
    with capture_output() as shown:
        result = shell.run_cell(cell, store_history=True)
    text = shown.stdout + shown.stderr + "".join(o.data.get("text/plain", "")
                                                 for o in shown.outputs)
    return result, text


# ---------------------------------------------------------------------------- the core

def test_track_cell_records_what_the_cell_bound_and_read_without_ipython():
    import numpy as np

    namespace = {"X": np.arange(6.0)}
    records = []
    source = "total = float(X.sum())\nlabel = 'sum'\n"
    value = tracking.track_cell(source, namespace, lambda: exec(source, namespace),
                                records.append, tracking.TrackOptions(experiment="core"))
    assert value is None and namespace["total"] == 15.0
    [record] = records
    assert record.experiment == "core" and record.status == "ok" and record.source == source
    assert set(record.values) == {"total", "label"} and list(record.inputs) == ["X"]
    assert record.input_summaries["X"].fingerprint


def test_track_cell_records_a_failure_and_reraises_it_unchanged():
    namespace, records = {}, []
    error = KeyError("gone")

    def cell():
        namespace["partial"] = 1
        raise error

    with pytest.raises(KeyError) as raised:
        tracking.track_cell("partial = 1\n", namespace, cell, records.append)
    assert raised.value is error
    assert records[0].status == "failed" and records[0].error == "KeyError: 'gone'"
    assert records[0].values == {"partial": 1}


def test_log_param_goes_to_the_cell_being_tracked():
    tracker = tracking.CellTracker("x = 1\n", {"x": 0})
    tracker.before()
    assert tracking.current_tracker() is tracker
    nbmodels.log_param("lr", 0.1)
    record = tracker.after()
    assert record.logged_params == {"lr": 0.1} and tracking.current_tracker() is None


def test_the_cell_record_is_shared_by_the_registry():
    from nbmodels.registry import CellRecord

    assert CellRecord is tracking.CellRecord


# ----------------------------------------------- issue 8 item 6: behaves as untracked

def test_top_level_await_works_in_a_tracked_cell(shell):
    result, _ = run(shell, "%%track\nimport asyncio\nawait asyncio.sleep(0)\nwaited = 5")
    assert result.success and shell.user_ns["waited"] == 5
    assert nbmodels.last_run().params == {"waited": 5}


@pytest.mark.parametrize("cell", [
    "m = 1\nm + 1;",
    "m = 1\nm + 1;  # quiet, with a comment",
    "m = 'a;'\nm",
    "m = 1\nm + 1",
    "m = [1]\nm\n",
])
def test_output_is_that_of_the_untracked_cell(shell, cell):
    plain, plain_text = run(shell, cell)
    tracked, tracked_text = run(shell, "%%track\n" + cell)
    assert tracked.result == plain.result
    assert ("Out[" in tracked_text) == ("Out[" in plain_text)
    if plain.result is not None:  # through the displayhook: Out[n] and _
        assert shell.user_ns["Out"][tracked.execution_count] == plain.result
        assert shell.user_ns["_"] == plain.result


def test_a_failing_cell_shows_the_traceback_of_the_untracked_cell(shell):
    shell.run_line_magic("config", "NBModels.show_summary = False")
    try:
        result, text = run(shell, "%%track\nboom = 1\nraise ValueError('bad data')")
    finally:
        shell.run_line_magic("config", "NBModels.show_summary = True")
    assert type(result.error_in_exec) is ValueError
    assert f"Cell In[{result.execution_count}], line 3" in text  # the line as typed
    assert "1 %%track\n" in text and "2 boom = 1\n" in text  # the cell as typed
    assert "run_cell_magic" not in text and "nbmodels" not in text
    run_ = nbmodels.last_run()
    assert run_.status == "failed" and run_.error == "ValueError: bad data"


def test_the_call_that_starts_tracking_is_in_no_namespace_of_the_user(shell):
    """Line 1 of a transformed cell calls a builtin IPython provides only while it runs a
    cell (as `get_ipython`): not a name of the user's namespace, gone once the cell ended."""
    import builtins

    from nbmodels.magics.track import BEGIN_NAME

    result, _ = run(shell, f"%%track\nseen = '{BEGIN_NAME}' in dir(__builtins__)")
    assert result.success and shell.user_ns["seen"] is True
    assert nbmodels.last_run().params == {"seen": True}
    assert BEGIN_NAME not in shell.user_ns and not hasattr(builtins, BEGIN_NAME)
    assert shell.user_ns["_ih"][result.execution_count].startswith(f"{BEGIN_NAME}(")
    run(shell, "%reset -f")
    result, _ = run(shell, "%%track\nafter_reset = 1")
    assert result.success and nbmodels.last_run().params == {"after_reset": 1}


def test_track_above_time_tracks_the_cell_that_time_runs(shell):
    result, text = run(shell, "%%track\n%%time\ntimed = 3")
    assert result.success and "Wall time" in text
    assert nbmodels.last_run().params == {"timed": 3}


@pytest.mark.parametrize("magic", ["timeit", "bash", "writefile out.txt"])
def test_track_above_a_magic_it_cannot_see_into_is_one_line_and_runs_nothing(
        shell, registry_home, magic, tmp_path):
    result, text = run(shell, f"%%track\n%%{magic}\nside_effect = 1\n")
    assert type(result.error_in_exec).__name__ == "UsageError"
    assert f"cannot track a cell run by %%{magic.split()[0]}" in text
    assert "side_effect" not in shell.user_ns and not (tmp_path / "out.txt").exists()
    assert not (registry_home / "registry.db").exists()


def test_an_empty_tracked_cell_is_one_line(shell, registry_home):
    result, text = run(shell, "%%track exp\n")
    assert "needs code below it" in text and not (registry_home / "registry.db").exists()


def test_a_cell_run_inside_a_tracked_cell_does_not_end_its_run(shell):
    run(shell, "%%track\n%%capture\ninner = 1\nouter = 2")
    assert nbmodels.last_run().params == {"inner": 1, "outer": 2}


# ----------------------------------------------- issue 8 item 1: the line, like a shell

TRACK_LINE = ("quoted --tag owner=\"Jane Doe\" --tag 'team=risk and ops' "
              "--note 'the \"baseline\" model'")


@pytest.mark.parametrize("how", ["cell", "run_cell_magic"])
def test_track_line_is_split_like_a_posix_shell(shell, how):
    if how == "cell":
        run(shell, f"%%track {TRACK_LINE}\nq = 1")
    else:
        shell.run_cell_magic("track", TRACK_LINE, "q = 1")
    got = nbmodels.last_run()
    assert got.experiment == "quoted" and got.note == 'the "baseline" model'
    assert got.tags == {"owner": "Jane Doe", "team": "risk and ops"}
    shell.run_cell_magic("track", r'--note "a \"b\" c"', "q = 2")
    assert nbmodels.last_run().note == 'a "b" c'


@pytest.mark.parametrize("line", ["--note 'unterminated", '--tag owner="Jane', "--note a\\"])
def test_an_unterminated_quote_is_one_line_and_the_cell_does_not_run(shell, registry_home, line):
    result, text = run(shell, f"%%track {line}\nside_effect = 1")
    assert type(result.error_in_exec).__name__ == "UsageError"
    [shown] = [t for t in text.splitlines() if t.strip()]
    assert shown.startswith("UsageError: %%track: cannot read")
    assert "side_effect" not in shell.user_ns
    with pytest.raises(Exception, match="cannot read") as raised:
        shell.run_cell_magic("track", line, "side_effect = 1")
    assert type(raised.value).__name__ == "UsageError" and "side_effect" not in shell.user_ns
    assert not (registry_home / "registry.db").exists()


def test_a_track_line_expands_kernel_variables_like_any_magic(shell):
    shell.user_ns["who"] = "Jane"
    run(shell, "%%track --tag owner={who}\nq = 1")
    assert nbmodels.last_run().tags == {"owner": "Jane"}
    shell.user_ns["who"] = "Ann"  # the same line again: parsed once, expanded every time
    run(shell, "%%track --tag owner={who}\nq = 1")
    assert nbmodels.last_run().tags == {"owner": "Ann"}


def test_a_track_line_run_again_gives_each_run_its_own_options(shell):
    """`%%track` lines are parsed once and kept: no run shares or changes another's."""
    for _ in range(2):
        run(shell, f"%%track {TRACK_LINE}\nq = 1")
        nbmodels.last_run().tags["owner"] = "changed by the user"
    first, second = Registry().runs()["id"].tolist()[-2:]
    for run_id in (first, second):
        got = Registry().run(run_id)
        assert got.experiment == "quoted" and got.note == 'the "baseline" model'
        assert got.tags == {"owner": "Jane Doe", "team": "risk and ops"}


# ----------------------------------------------------- speed: git state without a process

def _git(folder, *args):
    subprocess.run(["git", "-C", str(folder), *args], check=True, capture_output=True)


@pytest.fixture
def repo(tmp_path):
    folder = tmp_path / "repo"
    folder.mkdir()
    _git(folder, "init", "-q", "-b", "main")
    _git(folder, "config", "user.email", "t@example.com")
    _git(folder, "config", "user.name", "t")
    (folder / "train.py").write_text("a = 1\n")
    _git(folder, "add", "train.py")
    _git(folder, "commit", "-q", "-m", "first")
    return folder


def _settle(monkeypatch):
    """Treat every file as changed long ago (no racy-mtime re-check in a fast test)."""
    monkeypatch.setattr(environment, "_RACY_S", -1e9)


def _count_git_processes(monkeypatch) -> list:
    calls = []
    real = subprocess.run

    def counting(command, *args, **kwargs):
        calls.append(command)
        return real(command, *args, **kwargs)

    monkeypatch.setattr(environment.subprocess, "run", counting)
    return calls


def test_git_state_is_read_again_only_when_something_git_reads_changed(repo, monkeypatch):
    _settle(monkeypatch)
    first = environment.git_info(repo)
    assert first["branch"] == "main" and first["dirty"] is False
    calls = _count_git_processes(monkeypatch)
    assert environment.git_info(repo) == first and calls == []  # nothing changed: no process
    (repo / "untracked.txt").write_text("x")
    assert environment.git_info(repo) == first and calls == []  # untracked: not watched
    (repo / "train.py").write_text("a = 2\n")  # same size: the mtime tells
    assert environment.git_info(repo)["dirty"] is True and calls
    _git(repo, "commit", "-qam", "second")
    second = environment.git_info(repo)
    assert second["dirty"] is False and second["commit"] != first["commit"]
    _git(repo, "checkout", "-q", "-b", "feature")
    assert environment.git_info(repo)["branch"] == "feature"


def test_git_state_of_a_detached_head_or_packed_refs_is_answered_without_a_process(
        repo, monkeypatch):
    """A detached HEAD names no ref file, and `git pack-refs` moves the branch's ref into
    packed-refs: either state is watched like a branch's (no `git` process while nothing
    changes) and a change to it is seen."""
    _settle(monkeypatch)
    _git(repo, "checkout", "-q", "--detach")
    detached = environment.git_info(repo)
    calls = _count_git_processes(monkeypatch)
    assert detached["branch"] is None and environment.git_info(repo) == detached
    assert calls == []
    _git(repo, "checkout", "-q", "main")
    _git(repo, "pack-refs", "--all")
    assert not (repo / ".git" / "refs" / "heads" / "main").exists()
    packed = environment.git_info(repo)
    assert packed == {**detached, "branch": "main"} and calls
    calls.clear()
    assert environment.git_info(repo) == packed and calls == []
    (repo / "train.py").write_text("a = 9\n")
    _git(repo, "commit", "-qam", "after packing")  # a loose ref again, beside packed-refs
    assert environment.git_info(repo)["commit"] != packed["commit"]


def test_a_folder_that_is_gone_inside_a_repository_has_no_git_state(repo):
    assert environment.cached_git_info(repo / "gone") == (True, None)
    assert environment.git_info(repo / "gone") is None


def test_a_repository_root_removed_or_made_again_is_seen(repo, monkeypatch):
    """A work tree root checked before is found again without walking up from it: its
    `.git` removed (then no git state, and no `git` process per cell) or made again is
    still seen."""
    import shutil

    _settle(monkeypatch)
    assert environment.git_info(repo)["branch"] == "main"
    shutil.rmtree(repo / ".git")
    assert environment.git_info(repo) is None
    calls = _count_git_processes(monkeypatch)
    assert environment.cached_git_info(repo) == (True, None) and calls == []
    _git(repo, "init", "-q", "-b", "again")
    _git(repo, "add", "train.py")
    _git(repo, "commit", "-q", "-m", "new history")
    info = environment.git_info(repo)
    assert info["branch"] == "again" and info["dirty"] is False


def test_git_state_of_a_worktree(repo, tmp_path, monkeypatch):
    _settle(monkeypatch)
    other = tmp_path / "other"
    _git(repo, "worktree", "add", "-q", "-b", "side", str(other))
    assert (other / ".git").is_file()
    info = environment.git_info(other)
    assert info["branch"] == "side" and info["dirty"] is False
    (other / "train.py").write_text("a = 3\n")
    assert environment.git_info(other)["dirty"] is True
    _git(other, "commit", "-qam", "on the side")
    after = environment.git_info(other)
    assert after["dirty"] is False and after["commit"] != info["commit"]
    assert environment.git_info(repo)["branch"] == "main"


def test_a_tracked_cell_records_git_state(shell, repo, monkeypatch):
    monkeypatch.chdir(repo)
    run(shell, "%%track\nq = 1")
    git = nbmodels.last_run().git
    assert git["branch"] == "main" and len(git["commit"]) == 40
    assert Registry().run(nbmodels.last_run().id).git == git


@pytest.mark.slow
def test_tracked_cells_in_a_real_kernel(tmp_path, registry_home):
    """Headless, as Jupyter runs a notebook (ipykernel transforms and runs cells its own way)."""
    import nbformat
    from nbclient import NotebookClient

    cells = ["%load_ext nbmodels",
             "%%track demo --tag owner=\"Jane Doe\"\nimport asyncio\nawait asyncio.sleep(0)\n"
             "v = 41\nv + 1",
             "%%track\nw = 2\nw * 2;  # silenced",
             "%%track\n%%time\nt = 3",
             "%%track\nboom = 1\nraise ValueError('bad')"]
    notebook = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(c) for c in cells])
    NotebookClient(notebook, timeout=120, kernel_name="python3", allow_errors=True,
                   resources={"metadata": {"path": str(tmp_path)}}).execute()
    outputs = [cell.outputs for cell in notebook.cells]
    assert [o.output_type for o in outputs[1]] == ["execute_result", "display_data"]
    assert outputs[1][0].data["text/plain"] == "42" and outputs[1][0].execution_count == 2
    assert [o.output_type for o in outputs[2]] == ["display_data"]  # `;`: no Out
    assert "Wall time" in outputs[3][0].text
    error = outputs[4][0]
    assert error.output_type == "error" and error.ename == "ValueError"
    trace = "\n".join(error.traceback)
    assert "In[5]" in trace and "run_cell_magic" not in trace and "nbmodels" not in trace
    runs = Registry(registry_home).list_runs()
    assert [r.status for r in runs] == ["failed", "ok", "ok", "ok"]
    assert [r.params for r in reversed(runs)] == [{"v": 41}, {"w": 2}, {"t": 3}, {"boom": 1}]
    assert runs[-1].tags == {"owner": "Jane Doe"} and runs[-1].experiment == "demo"

"""`nbmodels` on the command line: listings, --json shapes, exit statuses, bad input."""

from __future__ import annotations

import json
import sqlite3
import subprocess
import sys

import pytest

from nbmodels import Registry
from nbmodels.cli import main
from tests.helpers import record_fit


@pytest.fixture
def filled(registry):
    from sklearn.linear_model import LogisticRegression

    X, y = [[0.0], [1.0], [2.0], [3.0]], [0, 0, 1, 1]
    for c in (1.0, 0.1):
        model = record_fit(registry, LogisticRegression(C=c).fit(X, y), f"C = {c}", accuracy=c)
        registry.register(model, "bc", tags={"team": "risk"})
    registry.set_stage("bc@1.1.0", "production", note="ship it")
    return registry


def _run(capsys, *argv):
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_listings_as_json_have_the_dataframe_keys(filled, capsys):
    code, out, _ = _run(capsys, "runs", "--json")
    runs = json.loads(out)
    assert code == 0 and len(runs) == 2
    assert list(runs[0])[:9] == ["id", "experiment", "status", "started_at", "ended_at",
                                 "duration_s", "user", "notebook", "note"]
    assert runs[0]["params"]["C"] == 0.1 and runs[0]["metrics"] == {"accuracy": 0.1}
    models = json.loads(_run(capsys, "models", "--json")[1])
    assert models[0]["production_version"] == "1.1.0" and models[0]["versions"] == 2
    versions = json.loads(_run(capsys, "versions", "bc", "--json")[1])
    assert [v["version"] for v in versions] == ["1.0.0", "1.1.0"]
    assert versions[0]["tags"] == {"team": "risk"} and versions[1]["bump"] == "minor"
    history = json.loads(_run(capsys, "history", "bc", "--json")[1])
    assert history[-1]["to_stage"] == "production" and history[-1]["note"] == "ship it"
    shown = json.loads(_run(capsys, "show", "bc@1.0.0", "--json")[1])
    assert shown["ref"] == "bc@1.0.0"
    run = json.loads(_run(capsys, "show", versions[0]["run_id"], "--json")[1])
    assert run["source"] == "C = 1.0" and run["variables"][0]["name"] == "accuracy"


def test_tables_for_people(filled, capsys):
    code, out, _ = _run(capsys, "versions", "bc")
    assert code == 0 and "1.1.0" in out and "production" in out
    assert "bc@1.0.0 is now staging" in _run(capsys, "stage", "bc@1.0.0", "staging")[1]


def test_stage_changes_through_the_cli_and_keeps_the_audit_trail(filled, capsys):
    code, out, _ = _run(capsys, "stage", "bc@1.0.0", "production", "--note", "rollback", "--json")
    assert code == 0 and json.loads(out)["stage"] == "production"
    assert Registry().get("bc@production").version == "1.0.0"
    assert Registry().history("bc")["to_stage"].tolist()[-2:] == ["archived", "production"]


BAD = [
    ["versions", "nosuch"],
    ["versions", "bad name!"],
    ["show", "bc@1.2"],
    ["show", "bc@9.9.9"],
    ["show", "ZZZZZZZZ"],
    ["stage", "bc@1.0.0", "prod"],
    ["stage", "bc@8.0.0", "production"],
    ["history", "nosuch"],
    ["show", "bc@1.0.0\n"],
    ["versions", "bc\n"],
    ["stage", "bc@1.0.0\n", "staging"],
    ["runs", "--nosuchflag"],
    ["nosuchcommand"],
    [],
]


@pytest.mark.parametrize("argv", BAD)
def test_bad_input_exits_1_with_one_line_and_writes_nothing(filled, capsys, argv, registry_home):
    db = registry_home / "registry.db"
    before = sqlite3.connect(db).execute("SELECT count(*) FROM transitions").fetchone()
    code, out, err = _run(capsys, *argv)
    assert code == 1 and out == ""
    assert len(err.strip().splitlines()) == 1 and "Traceback" not in err
    assert sqlite3.connect(db).execute("SELECT count(*) FROM transitions").fetchone() == before


def test_verify_exits_2_and_lists_every_damaged_object(filled, capsys):
    hashes = [v.object_hash for v in Registry().list_versions("bc")]
    for digest in hashes:
        path = Registry().objects.path(digest)
        path.write_bytes(path.read_bytes()[:-1] + b"\x00")
    code, out, _ = _run(capsys, "verify", "--json")
    report = json.loads(out)
    assert code == 2 and report["ok"] is False
    assert sorted(d["what"] for d in report["damage"]) == sorted(hashes)
    assert _run(capsys, "verify")[0] == 2


def test_gc_dry_run_and_json(filled, capsys):
    code, out, _ = _run(capsys, "gc", "--dry-run", "--json")
    assert code == 0 and json.loads(out) == {
        "dry_run": True, "objects": [], "temp_files": [], "bytes": 0, "kept_objects": 0,
        "kept_objects_bytes": 0, "kept_temp_files": 0, "kept_temp_bytes": 0, "grace_s": 3600}
    assert _run(capsys, "verify")[0] == 0


def test_home_flag_and_console_script(filled, tmp_path):
    other = tmp_path / "empty-elsewhere"
    result = subprocess.run([sys.executable, "-m", "nbmodels.cli", "--home", str(other),
                             "models", "--json"], capture_output=True, text=True)
    assert result.returncode == 0 and json.loads(result.stdout) == []
    assert not other.exists()  # reading creates nothing


def test_every_command_is_documented_in_the_readme():
    from pathlib import Path

    from nbmodels.cli import command_names

    readme = (Path(__file__).parent.parent / "README.md").read_text()
    missing = [c for c in command_names() if f"nbmodels {c}" not in readme]
    assert not missing, f"README does not document: {missing}"


def test_output_cut_short_by_a_pipe_is_not_an_error(filled):
    import os

    env = {**os.environ, "NBMODELS_HOME": str(filled.home)}
    result = subprocess.run(f"{sys.executable} -m nbmodels.cli runs --json | head -c 10",
                            shell=True, capture_output=True, text=True, env=env)
    assert "Traceback" not in result.stderr and "BrokenPipe" not in result.stderr


def _strict_loads(text):
    def refuse(token):
        raise ValueError(f"not strict JSON: {token}")

    return json.loads(text, parse_constant=refuse)


def test_json_output_is_strict_with_nan_and_infinite_values(registry, capsys):
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import GridSearchCV

    X, y = [[0.0], [1.0], [2.0], [3.0], [4.0], [5.0]], [0, 0, 0, 1, 1, 1]
    search = GridSearchCV(LogisticRegression(), {"C": [0.1, 1.0]}, cv=2).fit(X, y)
    record_fit(registry, search, "search.fit(X, y)", val_loss=float("nan"), top=float("inf"))
    registry.register(search, "grid")
    runs = _strict_loads(_run(capsys, "runs", "--json")[1])
    assert runs[0]["params"]["error_score"] is None and runs[0]["metrics"]["val_loss"] is None
    assert runs[0]["params"]["top"] is None
    versions = _strict_loads(_run(capsys, "versions", "grid", "--json")[1])
    assert versions[0]["metrics"]["val_loss"] is None
    assert _strict_loads(_run(capsys, "models", "--json")[1])[0]["key_metric_value"] is None
    assert _strict_loads(_run(capsys, "show", "grid", "--json")[1])["params"]["error_score"] is None
    record_fit(registry, search, "search.fit(X, y)  # again", val_loss=0.5)
    run_ids = [r.id for r in registry.list_runs()]
    diff = _strict_loads(_run(capsys, "diff", *run_ids, "--json")[1])
    assert diff["metrics"][0]["values"][f"{run_ids[1]}"] is None
    code, out, _ = _run(capsys, "versions", "grid")
    assert code == 0 and "nan" in out


def test_terminal_output_never_passes_control_characters(registry, capsys):
    from datetime import datetime, timezone

    from sklearn.linear_model import LogisticRegression

    from nbmodels.registry import CellRecord

    hostile = "\x1b]0;owned\x07\x1b[2J\x9b31m\r\u202e"
    X, y = [[0.0], [1.0], [2.0], [3.0]], [0, 0, 1, 1]
    for c in (1.0, 0.5):
        model = LogisticRegression(C=c).fit(X, y)
        now = datetime.now(timezone.utc)
        registry.record_run(CellRecord(
            source=f"clf = fit({c})  # {hostile}\nnote = '{hostile}'", experiment=f"exp{hostile}",
            status="ok", started_at=now, ended_at=now, values={"model": model, "label": hostile},
            note=hostile, tags={"owner": hostile}))
        registry.register(model, "m", note=hostile, tags={"t": hostile})
    registry.set_stage("m@1.0.0", "staging", note=hostile)
    run_id = registry.list_runs()[0].id
    outputs = []
    for argv in (["runs"], ["versions", "m"], ["models"], ["history", "m"], ["show", "m"],
                 ["show", run_id], ["diff", "m@1.0.0", "m@1.1.0"],
                 ["stage", "m@1.1.0", "production", "--note", hostile], ["versions", hostile]):
        code, out, err = _run(capsys, *argv)
        outputs.append(out + err)
    for text in outputs:
        assert not any(ch in text for ch in "\x1b\x07\x9b\r\u202e"), repr(text)
    shown = outputs[5]
    assert "\\x1b]0;owned\\x07" in shown  # escaped, visible, not dropped
    assert "\n" in shown.split("source:", 1)[1]  # cell code keeps its lines
    runs = json.loads(_run(capsys, "runs", "--json")[1])  # JSON escapes them itself
    assert runs[0]["note"] == hostile

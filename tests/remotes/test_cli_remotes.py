"""`nbmodels remote add|list|remove`, `push`, `pull`, `clone` from a shell; remote URLs;
what `import nbmodels` does not import."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from nbmodels import InvalidInputError, Registry
from nbmodels.cli import main
from tests.remotes.helpers import person, track_and_register


def _cli(capsys, *argv) -> tuple[int, str, str]:
    code = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


def test_remote_push_clone_pull_from_the_command_line(remote_url, tmp_path, capsys):
    alice = person(tmp_path, "alice")
    track_and_register(alice, "churn", seed=1, stage="production")
    home = ["--home", alice.home]
    assert _cli(capsys, *home, "remote", "add", "team", remote_url)[0] == 0
    code, out, _ = _cli(capsys, *home, "remote", "list", "--json")
    assert code == 0 and [r["url"] for r in json.loads(out)] == [remote_url]
    code, out, _ = _cli(capsys, *home, "push", "team", "churn@1.0.0")
    assert code == 0 and "1 versions" in out
    code, out, _ = _cli(capsys, *home, "push", "--json")
    assert code == 0 and json.loads(out)["requests"] == 1

    code, out, _ = _cli(capsys, "clone", remote_url, tmp_path / "bob")
    assert code == 0 and "cloned into" in out
    bob = Registry(tmp_path / "bob" / ".nbmodels")
    assert bob.get("churn@production").version == "1.0.0"
    track_and_register(alice, "churn", seed=2)
    assert _cli(capsys, *home, "push")[0] == 0
    code, out, _ = _cli(capsys, "--home", bob.home, "pull", "origin", "churn")
    assert code == 0 and "1 versions" in out
    assert len(bob.list_versions("churn")) == 2
    assert _cli(capsys, *home, "remote", "remove", "team")[0] == 0
    assert alice.list_remotes() == []


def test_a_push_conflict_exits_1_with_one_line(tmp_path, capsys):
    url = (tmp_path / "remote").as_uri()
    alice, bob = person(tmp_path, "alice"), person(tmp_path, "bob")
    for registry, seed in ((alice, 1), (bob, 2)):
        track_and_register(registry, "churn", seed=seed)
        registry.add_remote("origin", url)
    alice.push()
    code, _out, err = _cli(capsys, "--home", bob.home, "push")
    assert code == 1
    assert len(err.strip().splitlines()) == 1 and err.startswith("conflict: churn@1.0.0")


def test_push_mlflow_dispatches_to_push_to_mlflow(tmp_path, capsys, monkeypatch):
    calls = []

    class Done:
        def to_dict(self):
            return {"ref": calls[-1][0], "name": "churn", "version": "1", "run_id": "r",
                    "created": True}

    def fake(self, ref, uri):
        calls.append((ref, uri))
        return Done()

    monkeypatch.setattr(Registry, "push_to_mlflow", fake, raising=False)
    code, out, _ = _cli(capsys, "push", "churn@1.0.0", "--mlflow", "http://mlflow:5000")
    assert code == 0 and calls == [("churn@1.0.0", "http://mlflow:5000")]
    assert "churn@1.0.0 -> MLflow model churn version 1" in out


@pytest.mark.parametrize("url", ["s3://AKIA:secret@bucket/x", "s3://bucket/x?token=abc",
                                 "ftp://host/x", "s3://", "file://host/x", "bad\nurl"])
def test_remote_urls_that_could_hold_secrets_or_are_not_remotes_are_refused(registry, url):
    with pytest.raises(InvalidInputError):
        registry.add_remote("origin", url)
    assert registry.list_remotes() == []


def test_a_folder_path_becomes_a_file_url_and_no_credential_is_stored(registry, tmp_path):
    remote = registry.add_remote("share", str(tmp_path / "share"))
    assert remote.url == (tmp_path / "share").as_uri()
    assert [tuple(r.values()) for r in registry.store.query("SELECT name, url FROM remotes")] \
        == [("share", remote.url)]


def test_unknown_remote_and_clone_of_an_empty_remote_are_one_line(tmp_path, capsys):
    code, _, err = _cli(capsys, "push")
    assert code == 1 and err.count("\n") == 1 and "no remote 'origin'" in err
    code, _, err = _cli(capsys, "clone", (tmp_path / "empty").as_uri(), tmp_path / "x")
    assert code == 1 and "nothing to clone" in err
    assert not (tmp_path / "x" / ".nbmodels").exists()


def test_import_and_file_remotes_need_no_storage_library(tmp_path):
    code = f"""
import sys
sys.modules["obstore"] = None  # as if the `remote` extra were not installed
import nbmodels
from nbmodels import Registry
r = Registry({str(tmp_path / 'reg')!r})
r.register({{"a": 1}}, "m")
r.add_remote("origin", {str(tmp_path / 'remote')!r})
assert r.push().versions == 1
assert Registry.clone({(tmp_path / 'remote').as_uri()!r}, {str(tmp_path / 'b')!r}).load("m") == {{"a": 1}}
try:
    r.add_remote("s3", "s3://bucket/x"); r.push("s3")
except nbmodels.errors.NbModelsError as e:
    print(e)
"""
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=60, check=False)
    assert done.returncode == 0, done.stderr
    assert "pip install 'nbmodels[remote]'" in done.stdout
    imported = ("import sys, nbmodels, nbmodels.registry; print([m for m in sys.modules "
                "if m.startswith(('obstore', 'nbmodels.remotes'))])")
    light = subprocess.run([sys.executable, "-c", imported], capture_output=True, text=True,
                           timeout=60, check=True)
    assert light.stdout.strip() == "[]"

"""capture.environment: packages, git state, notebook path, experiment name."""

from __future__ import annotations

import os
import subprocess

import numpy as np
import pandas as pd

from nbmodels.capture import environment, experiment_name, git_info, notebook_path

def test_environment_lists_imported_packages():
    env = environment()
    assert env["python"].count(".") == 2
    assert env["packages"]["numpy"] == np.__version__
    assert env["packages"]["pandas"] == pd.__version__
    assert "host" in env and "user" in env
    env["packages"].clear()  # callers get a copy
    assert environment()["packages"]["numpy"] == np.__version__


def git(folder, *args):
    subprocess.run(["git", "-C", str(folder), *args], check=True, capture_output=True)


def test_git_info_in_a_repository(tmp_path):
    git(tmp_path, "init", "-q", "-b", "main")
    git(tmp_path, "config", "user.email", "t@example.com")
    git(tmp_path, "config", "user.name", "t")
    assert git_info(tmp_path) == {"commit": None, "branch": "main", "dirty": False}
    (tmp_path / "train.py").write_text("a = 1\n")
    git(tmp_path, "add", "train.py")
    git(tmp_path, "commit", "-q", "-m", "first")
    info = git_info(tmp_path)
    assert info["branch"] == "main" and info["dirty"] is False and len(info["commit"]) == 40
    (tmp_path / "untracked.txt").write_text("ignored")
    assert git_info(tmp_path)["dirty"] is False
    (tmp_path / "train.py").write_text("a = 2\n")
    assert git_info(tmp_path)["dirty"] is True
    git(tmp_path, "checkout", "-q", "--detach")
    assert git_info(tmp_path)["branch"] is None


def test_git_told_where_to_look_is_asked_not_second_guessed(tmp_path, monkeypatch):
    import sys

    from nbmodels.capture.environment import cached_git_info

    # a state checked at once is trusted (not "racy"): the cache would answer
    monkeypatch.setattr(sys.modules["nbmodels.capture.environment"], "_RACY_S", -60.0)
    for name, branch in (("here", "main"), ("elsewhere", "other")):
        (tmp_path / name).mkdir()
        git(tmp_path / name, "init", "-q", "-b", branch)
    assert git_info(tmp_path / "here")["branch"] == "main"
    assert cached_git_info(tmp_path / "here")[0] is True
    monkeypatch.setenv("GIT_DIR", str(tmp_path / "elsewhere" / ".git"))
    assert cached_git_info(tmp_path / "here") == (False, None)  # git must run
    assert git_info(tmp_path / "here")["branch"] == "other"


def test_git_info_outside_a_repository(tmp_path, monkeypatch):
    monkeypatch.setenv("GIT_CEILING_DIRECTORIES", str(tmp_path.parent))
    assert git_info(tmp_path) is None
    assert git_info(tmp_path / "missing") is None


# --------------------------------------------------------------------------- notebook


def test_notebook_path(tmp_path, monkeypatch):
    monkeypatch.delenv("JPY_SESSION_NAME", raising=False)
    assert notebook_path({}, str(tmp_path)) is None
    assert notebook_path({"__vsc_ipynb_file__": "/w/a.ipynb"}, str(tmp_path)) == os.path.abspath("/w/a.ipynb")
    notebook = tmp_path / "train.ipynb"
    notebook.write_text("{}")
    monkeypatch.setenv("JPY_SESSION_NAME", "project/train.ipynb")
    assert notebook_path({}, str(tmp_path)) == str(notebook.resolve())
    monkeypatch.setenv("JPY_SESSION_NAME", "project/absent.ipynb")
    assert notebook_path({}, str(tmp_path)) is None
    monkeypatch.setenv("JPY_SESSION_NAME", str(notebook))
    assert notebook_path({}, "/") == str(notebook)


def test_experiment_name():
    assert experiment_name("/w/churn model.ipynb") == "churn model"
    assert experiment_name(None) == "default"

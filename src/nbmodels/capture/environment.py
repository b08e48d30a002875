"""The environment of a run: Python and package versions, user, host, git state, notebook.
"""

from __future__ import annotations

import getpass
import importlib.metadata
import os
import platform
import socket
import subprocess
import sys

from pathlib import Path
from typing import Any

GIT_TIMEOUT_S = 2.0


# Top-level module name -> distribution name, for the packages that decide whether a saved
# model loads and behaves the same.
WATCHED_PACKAGES = {
    "numpy": "numpy", "pandas": "pandas", "scipy": "scipy", "sklearn": "scikit-learn",
    "xgboost": "xgboost", "lightgbm": "lightgbm", "catboost": "catboost", "torch": "torch",
    "torchvision": "torchvision", "tensorflow": "tensorflow", "keras": "keras",
    "jax": "jax", "joblib": "joblib", "cloudpickle": "cloudpickle", "statsmodels": "statsmodels",
    "polars": "polars", "pyarrow": "pyarrow", "transformers": "transformers",
    "tokenizers": "tokenizers", "sentence_transformers": "sentence-transformers",
    "imblearn": "imbalanced-learn", "category_encoders": "category_encoders",
    "optuna": "optuna", "skorch": "skorch", "lightning": "lightning",
    "pytorch_lightning": "pytorch-lightning", "onnxruntime": "onnxruntime", "numba": "numba",
    "prophet": "prophet", "sktime": "sktime", "shap": "shap",
}


_environment_cache: dict[frozenset[str], dict] = {}


def environment() -> dict:
    """Return `{"python", "packages": {dist: version}, "user", "host"}` for this process.

    `packages` lists the ML/data packages the kernel has imported; the result is cached and
    recomputed only when one more of them has been imported since.
    """
    imported = frozenset(name for name in WATCHED_PACKAGES if name in sys.modules)
    cached = _environment_cache.get(imported)
    if cached is None:
        cached = {
            "python": platform.python_version(),
            "packages": {WATCHED_PACKAGES[name]: _version(name) for name in sorted(imported)},
            "user": _user(),
            "host": socket.gethostname(),
        }
        _environment_cache[imported] = cached
    return {**cached, "packages": dict(cached["packages"])}


def _version(module_name: str) -> str | None:
    try:
        return importlib.metadata.version(WATCHED_PACKAGES[module_name])
    except Exception:  # not installed as a distribution (vendored, editable without metadata)
        version = getattr(sys.modules.get(module_name), "__version__", None)
        return str(version) if version is not None else None


def _user() -> str | None:
    try:
        return getpass.getuser()
    except Exception:  # no login name and no USER/LOGNAME in a container
        return None


def git_info(folder: str | os.PathLike) -> dict | None:
    """Return `{"commit", "branch", "dirty"}` of the git work tree holding `folder`, or None.

    One `git status` call; `branch` is None on a detached HEAD, `commit` None before the
    first commit; untracked files do not make the tree dirty. None when `folder` is not in
    a repository, git is missing, fails or takes over 2 seconds. Never raises.
    """
    command = [
        "git", "-C", os.fspath(folder), "status", "--porcelain=v2", "--branch",
        "--untracked-files=no",
    ]
    # GIT_OPTIONAL_LOCKS=0: status must not take index.lock under the user's own git commands.
    env = {**os.environ, "GIT_OPTIONAL_LOCKS": "0"}
    try:
        result = subprocess.run(
            command, capture_output=True, text=True, timeout=GIT_TIMEOUT_S, env=env, check=False,
        )
    except (OSError, subprocess.SubprocessError, ValueError):
        return None
    if result.returncode != 0:
        return None
    info: dict[str, Any] = {"commit": None, "branch": None, "dirty": False}
    for line in result.stdout.splitlines():
        if line.startswith("# branch.oid "):
            oid = line.split(" ", 2)[2]
            info["commit"] = None if oid == "(initial)" else oid
        elif line.startswith("# branch.head "):
            head = line.split(" ", 2)[2]
            info["branch"] = None if head == "(detached)" else head
        elif line and not line.startswith("#"):
            info["dirty"] = True
    return info


def notebook_path(namespace: dict, cwd: str | os.PathLike) -> str | None:
    """Return the absolute path of the running notebook, or None when it cannot be known.

    VS Code sets `__vsc_ipynb_file__` in the namespace; Jupyter sets `JPY_SESSION_NAME`,
    relative to the server root or absolute; the kernel's working directory is the
    notebook's folder, so a relative name is looked up there by its file name.
    """
    vscode = namespace.get("__vsc_ipynb_file__")
    if isinstance(vscode, str) and vscode:
        return os.path.abspath(vscode)
    session = os.environ.get("JPY_SESSION_NAME")
    if not session:
        return None
    if os.path.isabs(session):
        return os.path.normpath(session)
    for candidate in (Path(cwd) / Path(session).name, Path(cwd) / session):
        if candidate.is_file():
            return str(candidate.resolve())
    return None


def experiment_name(notebook: str | None) -> str:
    """Return the default experiment name: the notebook's file stem, else "default"."""
    stem = Path(notebook).stem if notebook else ""
    return stem or "default"


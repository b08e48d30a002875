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
import threading
import time

from dataclasses import dataclass, field
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


_WATCHED_MODULES = frozenset(WATCHED_PACKAGES)
_environment_cache: dict[frozenset[str], dict] = {}


def environment() -> dict:
    """Return `{"python", "packages": {dist: version}, "user", "host"}` for this process.

    `packages` lists the ML/data packages the kernel has imported; the result is cached and
    recomputed only when one more of them has been imported since.
    """
    imported = frozenset(sys.modules.keys() & _WATCHED_MODULES)
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

    `branch` is None on a detached HEAD, `commit` None before the first commit; untracked
    files do not make the tree dirty. None when `folder` is not in a repository, git is
    missing, fails or takes over 2 seconds. Never raises.

    `git status` runs only when something it reads changed since its last answer for this
    work tree: `HEAD`, the index, the branch's ref, `packed-refs`, or the size, mtime or
    inode of a tracked file (so editing a tracked file makes the tree dirty at once). That
    check is a few `stat` calls per tracked file, in-process; work trees with more than
    `GIT_WATCH_MAX_FILES` tracked files run `git status` every time.
    """
    fresh, info = cached_git_info(folder)
    if fresh:
        return info
    folder = os.fspath(folder)
    repo = _git_dirs(folder)
    if repo is None or repo[0] != folder:  # a `.git` of `folder` was removed, if it had one
        _git_states.pop(folder, None)
    if repo is None:  # git is told where to look (GIT_DIR ...): do not second-guess it
        return _git_status(folder)
    with _git_lock:
        state = _git_states.get(repo[0])
        head, key = _git_key(repo, state)
        files = state.files if state is not None and state.key[1] == key[1] else \
            _tracked_files(repo[0])
        stats = _stats(files) if files is not None else None
        checked_at = time.time()
        info = _git_status(folder)
        _git_states[repo[0]] = _GitState(repo, key, head, files, stats, info,
                                         _settled(key, stats, checked_at),
                                         _watched(repo, head[1], files))
    return dict(info) if info is not None else None


def cached_git_info(folder: str | os.PathLike) -> tuple[bool, dict | None]:
    """`(True, git_info(folder))` when that is known without running git (no repository,
    or nothing changed since `git status` last answered), else `(False, None)`: then
    `git_info` runs it. For callers that would rather run git in the background."""
    folder = os.fspath(folder)
    if _git_pointed_elsewhere():
        return False, None
    repo = _known_root(folder) or _git_dirs(folder)
    # the walk up from a folder that is gone could find a parent's repository
    if repo is None or (repo[0] != os.path.abspath(folder) and not os.path.isdir(folder)):
        return True, None
    with _git_lock:
        state = _git_states.get(repo[0])
        if state is None or not state.trusted or state.files is None:
            return False, None
        if tuple(map(_stat, state.watched)) != state.seen:
            return False, None
        return True, dict(state.info) if state.info is not None else None


GIT_WATCH_MAX_FILES = 5000
# Variables that point git elsewhere than the walk up from the folder would find.
_GIT_LOCATION_VARIABLES = ("GIT_DIR", "GIT_WORK_TREE", "GIT_CEILING_DIRECTORIES",
                           "GIT_DISCOVERY_ACROSS_FILESYSTEM", "GIT_COMMON_DIR", "GIT_INDEX_FILE")
_GIT_LOCATION_KEYS = frozenset(os.fsencode(name) for name in _GIT_LOCATION_VARIABLES)


def _git_pointed_elsewhere() -> bool:
    """Whether one of `_GIT_LOCATION_VARIABLES` is set. Asked on every tracked cell:
    `name in os.environ` raises and catches a KeyError per absent name, ~15 µs for the six,
    while CPython's environ keeps its bytes-keyed dict (on POSIX), a set test away."""
    data = getattr(os.environ, "_data", None)
    if os.name == "posix" and isinstance(data, dict):
        return not _GIT_LOCATION_KEYS.isdisjoint(data)
    return any(name in os.environ for name in _GIT_LOCATION_VARIABLES)


# A file changed this close to a check may change again within the same mtime tick
# ("racy git"): such a state is re-checked by `git status` next time.
_RACY_S = 2.0


@dataclass
class _GitState:
    repo: tuple[str, str, str]  # `_git_dirs`: work tree root, git dir, common git dir
    key: tuple  # stats of HEAD, the index, the branch's ref file and packed-refs
    head: tuple[tuple | None, str | None]  # HEAD's stat and the ref it names
    files: tuple[str, ...] | None  # tracked files; None: too many to watch
    stats: tuple | None  # their stats just before `git status` ran
    info: dict | None  # what `git status` said
    trusted: bool  # nothing was modified within `_RACY_S` of the check
    # the paths of `key` then `files`, and their stats in `seen`: what a cell checks
    watched: tuple[str | None, ...] = ()
    seen: tuple = field(init=False, default=())  # what a cell compares its stats with

    def __post_init__(self) -> None:
        self.seen = (*self.key, *(self.stats or ()))


_git_states: dict[str, _GitState] = {}
_git_lock = threading.Lock()


def _known_root(folder: str) -> tuple[str, str, str] | None:
    """`_git_dirs(folder)` without the walk up, for a work tree root checked before with
    its `.git` folder in it: that HEAD is the first path a cell stats, so a `.git` removed
    or made again is seen."""
    state = _git_states.get(folder)
    if state is not None and state.repo[1] == os.path.join(folder, ".git"):
        return state.repo
    return None


def _git_dirs(folder: str) -> tuple[str, str, str] | None:
    """(work tree root, git dir, common git dir) of the repository holding `folder`, found
    as git finds it: the nearest `.git` folder, or `.git` file (worktrees, submodules).
    None when there is none, or when git is told where to look (`GIT_DIR` ...)."""
    if _git_pointed_elsewhere():
        return None
    current = os.path.abspath(folder)
    while True:
        dot_git = os.path.join(current, ".git")
        if os.path.isdir(dot_git):
            return current, dot_git, dot_git
        if os.path.isfile(dot_git):
            gitdir = _read_pointer(dot_git, "gitdir:", current)
            if gitdir is None:
                return None
            common = _read_pointer(os.path.join(gitdir, "commondir"), "", gitdir) or gitdir
            return current, gitdir, common
        parent = os.path.dirname(current)
        if parent == current:
            return None
        current = parent


def _read_pointer(path: str, prefix: str, base: str) -> str | None:
    try:
        with open(path, encoding="utf-8") as handle:
            text = handle.read().strip()
    except (OSError, UnicodeDecodeError):
        return None
    if not text.startswith(prefix):
        return None
    return os.path.normpath(os.path.join(base, text[len(prefix):].strip()))


def _git_key(repo: tuple[str, str, str], state: _GitState | None) -> tuple[tuple, tuple]:
    head = os.path.join(repo[1], "HEAD")
    head_stat = _stat(head)
    if state is not None and state.head[0] == head_stat:
        ref = state.head[1]
    else:
        ref = _head_ref(head)
    rest = _watched(repo, ref, None)[1:]
    return (head_stat, ref), (head_stat, *map(_stat, rest))


def _watched(repo: tuple[str, str, str], ref: str | None,
             files: tuple[str, ...] | None) -> tuple[str | None, ...]:
    """What git's answer depends on: HEAD, the index, the branch's ref (None on a detached
    HEAD), packed-refs, then the tracked files. Their stats are `_git_key(...)[1]` then
    `_stats(files)`; a tracked cell checks them in one pass."""
    _, gitdir, common = repo
    return (os.path.join(gitdir, "HEAD"), os.path.join(gitdir, "index"),
            os.path.join(common, ref) if ref else None,
            os.path.join(common, "packed-refs"), *(files or ()))


def _head_ref(path: str) -> str | None:
    """The ref HEAD points to (`refs/heads/main`), None when detached or unreadable."""
    try:
        with open(path, encoding="utf-8") as handle:
            text = handle.read().strip()
    except (OSError, UnicodeDecodeError):
        return None
    return text[4:].strip() if text.startswith("ref:") else None


def _stat(path: str | None) -> tuple | None:
    if path is None:  # no such file to watch (a detached HEAD names no ref)
        return None
    try:
        found = os.stat(path)
    except OSError:
        return None
    return found.st_mtime_ns, found.st_size, found.st_ino


def _stats(paths: tuple[str, ...]) -> tuple:
    return tuple(_stat(path) for path in paths)


def _tracked_files(root: str) -> tuple[str, ...] | None:
    """The tracked files of the work tree (absolute), None when there are too many or
    git cannot list them."""
    listed = _git(root, "ls-files", "-z")
    if listed is None:
        return None
    names = [name for name in listed.split("\0") if name]
    if len(names) > GIT_WATCH_MAX_FILES:
        return None
    return tuple(os.path.join(root, name) for name in names)


def _settled(key: tuple, stats: tuple | None, checked_at: float) -> bool:
    newest = max((s[0] for s in (*key, *(stats or ())) if s is not None), default=0)
    return newest / 1e9 < checked_at - _RACY_S


def _git(folder: str, *args: str) -> str | None:
    # GIT_OPTIONAL_LOCKS=0: status must not take index.lock under the user's own git commands.
    env = {**os.environ, "GIT_OPTIONAL_LOCKS": "0"}
    try:
        result = subprocess.run(["git", "-C", folder, *args], capture_output=True, text=True,
                                timeout=GIT_TIMEOUT_S, env=env, check=False)
    except (OSError, subprocess.SubprocessError, ValueError):
        return None
    return result.stdout if result.returncode == 0 else None


def _git_status(folder: str) -> dict | None:
    output = _git(folder, "status", "--porcelain=v2", "--branch", "--untracked-files=no")
    if output is None:
        return None
    info: dict[str, Any] = {"commit": None, "branch": None, "dirty": False}
    for line in output.splitlines():
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


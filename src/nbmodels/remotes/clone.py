"""`clone URL [DIR]`: a new registry in DIR/.nbmodels with everything from a remote, which
it records as remote `origin` (like `git clone`)."""

from __future__ import annotations

import os
from pathlib import Path

from ..errors import ConflictError, NotFoundError
from .push import ensure_marker
from .reports import TransferReport
from .transport import normalize_url, open_transport


def clone(url: str, folder: str | os.PathLike | None = None, objects: bool = True):
    """`(registry, report)`: DIR (default: the working directory) gets a `.nbmodels/`
    registry pulled from `url`, with `url` as remote `origin`. Raises `NotFoundError` when
    nothing was ever pushed there, and `ConflictError` when DIR already has a registry
    (other than one this same clone left unfinished: then the clone completes)."""
    from ..registry import Registry

    url = normalize_url(url)
    transport = open_transport(url)
    if not ensure_marker(transport, create=False):
        raise NotFoundError(f"nothing to clone: {url} holds no nbmodels registry "
                            "(push to it first)")
    home = Path(folder or os.getcwd()).expanduser().absolute() / ".nbmodels"
    registry = Registry(home)
    try:
        _check_empty(registry, url)
        if not any(r.name == "origin" for r in registry.list_remotes()):
            registry.add_remote("origin", url)
        report: TransferReport = registry.pull("origin", objects=objects)
    except BaseException:
        registry.close()
        raise
    return registry, report


def _check_empty(registry, url: str) -> None:
    if not registry.store.exists:
        return
    remotes = {r.name: r.url for r in registry.list_remotes()}
    if remotes == {"origin": url}:
        return  # a clone of the same URL killed midway: pulling again completes it
    if remotes or registry.store.one("SELECT 1 AS x FROM runs UNION ALL "
                                     "SELECT 1 FROM versions LIMIT 1"):
        raise ConflictError(f"{registry.home} already holds a registry: clone into another "
                            "folder")

"""Team registries: sharing versions, runs, stage changes and objects through storage a
team already runs (S3 or any S3-compatible store, GCS, Azure, a mounted folder), with no
nbmodels server.

    layout      what a remote holds and under which keys (objects, manifests, the log)
    transport   a folder (`file://`) or obstore (`s3://`, `gs://`, `az://`), requests counted
    push        objects, then run and version manifests, then stage changes
    pull        everything read and objects verified, then the rows in one transaction
    clone       a new registry from a remote, with it as `origin`
    conflicts   version-number clashes, and one merged stage per version everywhere
    reports     what a push or pull did

Nothing here is imported by `import nbmodels` or `%load_ext nbmodels`; obstore only when
an object-storage remote is used.
"""

from __future__ import annotations

from .reports import Remote, TransferReport
from .transport import RemoteError, normalize_url, open_transport

__all__ = ["Remote", "RemoteError", "TransferReport", "normalize_url", "open_transport"]

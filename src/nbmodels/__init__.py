"""nbmodels: model versioning native to Jupyter.

`import nbmodels` stays light: the registry, pandas and IPython load when first used.
"""

from .errors import (AmbiguousRefError, ConflictError, DatabaseDamagedError, IntegrityError,
                     InvalidInputError, NbModelsError, NotFoundError, PackageVersionWarning,
                     ReadOnlyRegistryError, UntrustedObjectError)

__version__ = "0.1.0"
__all__ = [
    "Registry", "load", "compare", "log_param", "log_metric", "last_run",
    "NbModelsError", "NotFoundError", "AmbiguousRefError", "InvalidInputError",
    "ConflictError", "IntegrityError", "DatabaseDamagedError", "ReadOnlyRegistryError",
    "PackageVersionWarning", "UntrustedObjectError",
]


def __getattr__(name):
    if name == "Registry":
        from .registry import Registry

        return Registry
    if name in ("load", "compare", "log_param", "log_metric", "last_run"):
        from . import api

        return getattr(api, name)
    raise AttributeError(f"module 'nbmodels' has no attribute {name!r}")


def load_ipython_extension(ipython):
    """`%load_ext nbmodels`: register the magics."""
    from .magics import load_ipython_extension as load

    load(ipython)


def _jupyter_server_extension_points():
    return [{"module": "nbmodels.server"}]


def _jupyter_labextension_paths():
    return [{"src": "labextension", "dest": "nbmodels"}]

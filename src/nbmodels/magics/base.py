"""What every nbmodels magic shares: the kernel's registry and one-line errors."""

from __future__ import annotations

import functools

from IPython.core.error import UsageError
from IPython.core.magic import Magics

from .. import api
from ..config import NBModels
from ..errors import NbModelsError
from .parsing import one_line


def user_errors(method):
    """Turn nbmodels' own errors into the one-line `UsageError` IPython shows plainly, with
    what is not printable escaped (a name or note quoted in it may hold anything)."""

    @functools.wraps(method)
    def wrapper(*args, **kwargs):
        __tracebackhide__ = True  # noqa: F841  (IPython hides this frame in tracebacks)
        try:
            return method(*args, **kwargs)
        except (NbModelsError, UsageError) as exc:
            raise UsageError(one_line(str(exc))) from None

    return wrapper


class RegistryMagics(Magics):
    """Magics that work on the kernel's registry (`%config NBModels.home`, else the default)."""

    def __init__(self, shell, config: NBModels):
        super().__init__(shell)
        self.options = config

    @property
    def registry(self):
        api.session.home = self.options.home
        registry = api.default_registry()
        registry.capture_timeout_s = self.options.capture_timeout_s
        registry.serializer = self.options.serializer
        registry.allow_pickle = self.options.allow_pickle
        registry.trusted_types = tuple(self.options.trusted_types)
        return registry

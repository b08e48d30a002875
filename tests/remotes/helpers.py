"""Two people sharing a remote: each a registry of their own."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from nbmodels import Registry
from nbmodels.remotes import open_transport
from tests.helpers import record_fit


def person(tmp_path: Path, who: str) -> Registry:
    return Registry(tmp_path / who / ".nbmodels")


def fitted(seed: int):
    from sklearn.linear_model import LogisticRegression

    rng = np.random.default_rng(seed)
    X = rng.normal(size=(60, 4))
    return LogisticRegression().fit(X, (X[:, 0] + rng.normal(size=60) > 0).astype(int)), X


def track_and_register(registry: Registry, name: str, seed: int, **kwargs):
    model, X = fitted(seed)
    record_fit(registry, model, f"model = LogisticRegression().fit(X, y)  # {seed}")
    return registry.register(model, name, **kwargs), model, X


def remote_keys(url: str, prefix: str) -> list[str]:
    return open_transport(url).list(prefix)

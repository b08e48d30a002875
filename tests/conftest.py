"""Every test gets its own registry in tmp_path (via NBMODELS_HOME) and a clean session."""

from __future__ import annotations

import pytest

from nbmodels import api


@pytest.fixture(autouse=True)
def registry_home(tmp_path, monkeypatch):
    home = tmp_path / "registry"
    monkeypatch.setenv("NBMODELS_HOME", str(home))
    monkeypatch.chdir(tmp_path)
    api.session.home = None
    api.session.just_tracked = {}
    api.session.last_run_id = None
    api.session.registries.clear()
    yield home
    for registry in api.session.registries.values():
        registry.close()
    api.session.registries.clear()


@pytest.fixture
def registry(registry_home):
    from nbmodels import Registry

    reg = Registry(registry_home)
    yield reg
    reg.close()


@pytest.fixture(scope="session")
def _shell():
    from IPython.testing.globalipapp import start_ipython

    shell = start_ipython()
    shell.run_line_magic("load_ext", "nbmodels")
    return shell


@pytest.fixture
def shell(_shell):
    """A real IPython shell with nbmodels loaded and an empty namespace."""
    _shell.reset(new_session=False)
    _shell.run_line_magic("config", "NBModels.home = None")
    yield _shell
    _shell.reset(new_session=False)


@pytest.fixture(scope="session")
def breast_cancer():
    from sklearn.datasets import load_breast_cancer
    from sklearn.model_selection import train_test_split

    data = load_breast_cancer(as_frame=True)
    return train_test_split(data.data, data.target, random_state=0)


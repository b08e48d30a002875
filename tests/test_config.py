"""Where the registry lives (SPEC §1): `NBModels.home` is resolved once, when it is set."""

from __future__ import annotations

import os

from nbmodels import Registry
from nbmodels.config import NBModels


def test_a_relative_home_stays_where_it_was_set_after_chdir(shell, tmp_path, monkeypatch):
    monkeypatch.delenv("NBMODELS_HOME")
    project = tmp_path / "project"
    (project / "notebooks").mkdir(parents=True)
    monkeypatch.chdir(project)
    shell.run_line_magic("config", 'NBModels.home = "models"')
    shell.run_cell_magic("track", "exp", "a = 1")
    os.chdir(project / "notebooks")  # a notebook that changes directory
    shell.run_cell_magic("track", "exp", "b = 2")
    assert not (project / "notebooks" / "models").exists()
    assert len(Registry(project / "models").runs()) == 2


def test_home_is_stored_absolute_and_none_stays_none(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    options = NBModels()
    options.home = "reg"
    assert options.home == str(tmp_path / "reg")
    options.home = "~/x"
    assert options.home == os.path.expanduser("~/x")
    options.home = None
    assert options.home is None


def test_a_relative_nbmodels_home_is_where_the_kernel_started(tmp_path):
    """`NBMODELS_HOME=models` means models/ beside where the kernel started, as a relative
    `NBModels.home` does: a notebook that then changes directory keeps one registry."""
    import subprocess
    import sys

    project = tmp_path / "project"
    (project / "notebooks").mkdir(parents=True)
    script = ("import os\n"
              "from IPython.core.interactiveshell import InteractiveShell\n"
              "shell = InteractiveShell.instance()\n"
              "shell.run_line_magic('load_ext', 'nbmodels')\n"
              "shell.run_cell_magic('track', 'exp', 'a = 1')\n"
              "os.chdir('notebooks')\n"
              "shell.run_cell_magic('track', 'exp', 'b = 2')\n")
    env = {**os.environ, "NBMODELS_HOME": "models"}
    done = subprocess.run([sys.executable, "-c", script], cwd=project, env=env,
                          capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert not (project / "notebooks" / "models").exists()
    assert len(Registry(project / "models").runs()) == 2

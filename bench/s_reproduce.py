"""Scenario 8: `reproduce --from-inputs` of a small model (issue 10: <= 1 s beyond the
cell's own run time).

A notebook loads breast cancer, splits it, and a tracked cell fits a scaled LogisticRegression.
Measured:
- in the kernel: `Registry.reproduce(run)` and `%reproduce RUN`; the overhead is the
  reproduction's time minus the tracked cell's own re-run (`ReproduceReport.cell_s`);
- in a fresh process: `nbmodels reproduce RUN --json` against the same work done by plain
  Python in a fresh process (the imports cell, the stored inputs unpickled, the cell run):
  what nbmodels adds beyond what re-running the cells itself costs there.
"""

from __future__ import annotations

import subprocess
import sys
import time

from common import Measure, interleave, run_cell

CELLS = ("from sklearn.datasets import load_breast_cancer\n"
         "from sklearn.model_selection import train_test_split\n"
         "from sklearn.linear_model import LogisticRegression\n"
         "from sklearn.pipeline import make_pipeline\n"
         "from sklearn.preprocessing import StandardScaler",
         "X, y = load_breast_cancer(return_X_y=True, as_frame=True)\n"
         "X_train, X_test, y_train, y_test = train_test_split(X, y, random_state=0)",
         "%%track reproduce-bench\n"
         "clf = make_pipeline(StandardScaler(), LogisticRegression(C=1.0)).fit(X_train, y_train)\n"
         "accuracy = clf.score(X_test, y_test)")

# The same work as the CLI, in plain Python: the imports cell (re-run: it binds what the
# tracked cell uses), the stored inputs unpickled, the tracked cell
PLAIN = """
import pickle, sys
from pathlib import Path
""" + CELLS[0] + """
values = {name: pickle.loads(Path(path).read_bytes()) for name, path in
          zip(sys.argv[1::2], sys.argv[2::2])}
clf = make_pipeline(StandardScaler(), LogisticRegression(C=1.0)).fit(values["X_train"],
                                                                     values["y_train"])
accuracy = clf.score(values["X_test"], values["y_test"])
"""


def run(opts, results, ip, home) -> None:
    from nbmodels import Registry

    print("\n[11-reproduce] reproduce --from-inputs of a small model (scaled LogisticRegression)")
    for cell in CELLS:
        run_cell(ip, cell)
    registry = Registry(home)
    run_id = registry.list_runs("reproduce-bench")[0].id
    reports = []

    def in_kernel():
        start = time.perf_counter()
        reports.append(registry.reproduce(run_id))
        return time.perf_counter() - start

    def overhead():  # the reproduction minus the tracked cell's own re-run
        report = registry.reproduce(run_id)
        return report.duration_s - report.cell_s

    objects = [(i.name, str(registry.objects.path(i.object_hash)))
               for i in registry.run(run_id).inputs]
    plain_args = [sys.executable, "-c", PLAIN, *(x for pair in objects for x in pair)]
    cli_args = [sys.executable, "-m", "nbmodels.cli", "--home", str(home), "reproduce",
                run_id, "--json"]

    def fresh(args):
        def case():
            start = time.perf_counter()
            subprocess.run(args, check=True, capture_output=True)
            return time.perf_counter() - start
        return case

    samples = interleave({"in_kernel": in_kernel, "overhead": overhead,
                          "magic": lambda: run_cell(ip, f"%reproduce {run_id}"),
                          "cli": fresh(cli_args), "plain": fresh(plain_args)}, opts.repeat)
    statuses = sorted({r.status for r in reports})
    results.add(Measure("11-reproduce", "Registry.reproduce(run) from inputs, in the kernel",
                        "nbmodels", samples["in_kernel"], note=f"status {', '.join(statuses)}"))
    over = results.add(Measure("11-reproduce", "  of which beyond the tracked cell's own run",
                               "nbmodels", samples["overhead"]))
    results.add(Measure("11-reproduce", "%reproduce RUN (cell)", "nbmodels", samples["magic"]))
    cli = results.add(Measure("11-reproduce", "nbmodels reproduce RUN --json (fresh process)",
                              "nbmodels", samples["cli"]))
    plain = results.add(Measure("11-reproduce", "python: import, unpickle inputs, run the cell",
                                "baseline", samples["plain"], note="fresh process"))
    results.target("11-reproduce", "reproduce beyond the cell's own run (kernel)", over.median, 1.0)
    results.target("11-reproduce", "CLI reproduce beyond plain Python doing the same (fresh)",
                   cli.median - plain.median, 1.0)

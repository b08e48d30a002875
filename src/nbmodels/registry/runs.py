"""Reading runs: one by id or prefix, listings, the `runs()` frame, and adding logged
values to a run afterwards."""

from __future__ import annotations

from ..dbfile import guard_errors
from ..errors import AmbiguousRefError, InvalidInputError, NotFoundError
from ..facts import with_logged
from ..records import Run
from ..store import encode_json, run_from_row
from ..versioning import check_text, parse_ref
from .common import json_map
from .queries import runs_sql


@guard_errors
class RunsMixin:
    """Runs: `run`, `list_runs`, `count_runs`, `runs`, `last_run`, `update_run_values`,
    `experiments`."""

    def run(self, run_id: str) -> Run:
        """The run with this id or unique id prefix (6+ characters), with its variables and
        inputs. Raises `NotFoundError`, `AmbiguousRefError` or `InvalidInputError`."""
        ref = parse_ref(run_id)
        if ref.run_prefix is None:
            raise InvalidInputError(f"bad run id {run_id!r}: use a run id or 6+ of its characters")
        known = self.store.recall(("run", ref.run_prefix))  # the run recorded last
        if known is not None:
            return known
        row = self._run_row(ref.run_prefix)
        if row is None:
            raise NotFoundError(f"no run {run_id!r} in {self.home}")
        variables = self.store.query("SELECT * FROM variables WHERE run_id = ? ORDER BY name",
                                     [row["id"]])
        inputs = self.store.query("SELECT * FROM inputs WHERE run_id = ? ORDER BY name", [row["id"]])
        return run_from_row(row, variables, inputs)

    def _run_row(self, prefix: str) -> dict | None:
        rows = self.store.query("SELECT * FROM runs WHERE id >= ? AND id < ? ORDER BY id LIMIT 2",
                                [prefix, prefix + "\x7f"])
        if len(rows) > 1:
            raise AmbiguousRefError(
                f"run id prefix {prefix!r} matches several runs ({rows[0]['id']}, "
                f"{rows[1]['id']}, ...): give more characters")
        return rows[0] if rows else None

    def list_runs(self, experiment: str | None = None, limit: int | None = None,
                  offset: int = 0) -> list[Run]:
        """Runs newest first, without variables and inputs (see `run` for those)."""
        check_text(experiment, "experiment")
        where, params = ("WHERE experiment = ?", [experiment]) if experiment else ("", [])
        page = f"LIMIT {int(limit)} OFFSET {int(offset)}" if limit is not None else ""
        rows = self.store.query(f"SELECT * FROM runs {where} ORDER BY id DESC {page}", params)
        return [run_from_row(r) for r in rows]

    def count_runs(self, experiment: str | None = None) -> int:
        check_text(experiment, "experiment")
        where, params = ("WHERE experiment = ?", [experiment]) if experiment else ("", [])
        row = self.store.one(f"SELECT count(*) AS n FROM runs {where}", params)
        return row["n"] if row else 0

    def runs(self, experiment: str | None = None, *, where: dict | None = None,
             order_by: str | None = None, limit: int | None = None):
        """Runs as a DataFrame, newest first: `id, experiment, status, started_at, ended_at,
        duration_s, user, notebook, note`, then `params.*`, `metrics.*`, `tags.*`.

        Optional, evaluated in SQLite before any row reaches Python (use them on large
        registries; plain pandas on the frame works too):
        `where={"params.C": 0.5, "metrics.accuracy": (">", 0.9)}` keeps runs whose column
        equals a value, or compares with `=`, `!=`, `<`, `<=`, `>`, `>=` (None matches a
        missing value, NaN a NaN one; infinities compare as numbers);
        `order_by="metrics.accuracy DESC"` sorts on any column (missing and NaN values
        last); `limit=10` keeps the first rows. Raises `InvalidInputError` for a
        malformed column, operator or order.

        Example: the top-10 leaderboard is `runs(order_by="metrics.accuracy DESC", limit=10)`.
        """
        from ..tables import runs_frame_from_rows

        check_text(experiment, "experiment")
        sql, params = runs_sql(experiment, where, order_by, limit)
        return runs_frame_from_rows(self.store.rows(sql, params))

    def last_run(self) -> Run | None:
        runs = self.list_runs(limit=1)
        return self.run(runs[0].id) if runs else None

    def update_run_values(self, run_id: str, params: dict | None = None,
                          metrics: dict | None = None) -> Run:
        """Add `log_param`/`log_metric` values to an existing run and to the versions
        registered from it (a version's params and metrics follow its run)."""
        params, metrics = json_map(params), json_map(metrics)
        run_id = self.run(run_id).id
        with self.store.write() as db:
            run = self.run(run_id)  # read inside the transaction: concurrent logs add up
            db.execute("UPDATE runs SET params = ?, metrics = ? WHERE id = ?",
                       [encode_json({**run.params, **params}),
                        encode_json({**run.metrics, **metrics}), run_id])
            for row in self.store.query("SELECT name, version, params, metrics, facts FROM "
                                        "versions WHERE run_id = ?", [run_id]):
                db.execute("UPDATE versions SET params = ?, metrics = ?, facts = ? "
                           "WHERE name = ? AND version = ?",
                           [encode_json({**row["params"], **params}),
                            encode_json({**row["metrics"], **metrics}),
                            encode_json(with_logged(row["facts"], params, metrics)),
                            row["name"], row["version"]])
        return self.run(run_id)

    def experiments(self) -> list[str]:
        return [r["experiment"] for r in self.store.query(
            "SELECT DISTINCT experiment FROM runs ORDER BY experiment")]

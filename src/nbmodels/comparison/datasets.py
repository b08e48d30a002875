"""Datasets side by side: a run's data paired with the next run's by slot (the same name,
or the same kind of data with mostly the same columns), and their schema facets."""

from __future__ import annotations


def align_datasets(found: list[tuple[str, dict | None]]) -> dict[str, dict | None]:
    """Datasets of each target keyed by a shared slot name, so that `X_train` in one run and
    `X2` in the next (same kind, mostly the same columns) are compared with each other.

    A name present in an earlier target keeps its slot; a new name takes the free slot of
    the same kind whose columns overlap most (at least half, Jaccard), else a slot of its own.
    Each dataset keeps its own name under "name"."""
    slots: dict[str, dict] = {}  # slot name -> the latest dataset seen in it
    aligned: dict[str, dict | None] = {}
    for label, datasets in found:
        if datasets is None:
            aligned[label] = None
            continue
        mine: dict[str, dict] = {}
        pending = []
        for name, item in datasets.items():
            if name in slots:
                mine[name] = {**item, "name": name}
            else:
                pending.append((name, item))
        for name, item in pending:
            free = [(slot, _overlap(slots[slot]["schema"], item["schema"])) for slot in slots
                    if slot not in mine and slot not in datasets and
                    slots[slot]["schema"].get("kind") == item["schema"].get("kind")]
            best = max(free, key=lambda f: f[1], default=(None, 0.0))
            slot = best[0] if best[1] >= 0.5 else name
            mine[slot] = {**item, "name": name}
        slots.update(mine)
        aligned[label] = mine
    return aligned


def _overlap(a: dict, b: dict) -> float:
    ca, cb = set(schema_columns(a)), set(schema_columns(b))
    if a.get("kind") != "DataFrame":  # a Series or an array: same name/shape family
        same = a.get("dtype") == b.get("dtype") and (a.get("name") == b.get("name"))
        return 1.0 if same else 0.0
    return len(ca & cb) / len(ca | cb) if ca | cb else 0.0


def schema_columns(schema: dict) -> list[str]:
    if schema.get("kind") == "DataFrame":
        return list(schema.get("columns") or {})
    if schema.get("kind") == "Series":
        return [schema.get("name") or "value"]
    return ["(array)"]


def dtype_of(found: dict | None, name: str, column: str) -> str | None:
    if not found or name not in found:
        return None
    schema = found[name]["schema"]
    if schema.get("kind") == "DataFrame":
        return (schema.get("columns") or {}).get(column)
    if column in schema_columns(schema):
        return schema.get("dtype")
    return None


def stat_of(found: dict | None, name: str, column: str, stat: str):
    if not found or name not in found:
        return None
    return ((found[name]["stats"] or {}).get(column) or {}).get(stat)


def data_facet(found: dict | None, name: str, facet: str):
    if not found or name not in found:
        return None
    item = found[name]
    if facet == "shape":
        shape = item["schema"].get("shape")
        return "×".join(str(s) for s in shape) if shape else None
    return item[facet]


def schema_change(dtypes: list) -> str:
    if not dtypes:
        return ""
    present = [d is not None for d in dtypes]
    if all(present):
        return "" if len(set(dtypes)) == 1 else "dtype changed"
    if present[0]:
        return "removed"
    if any(present):
        return "added"
    return ""

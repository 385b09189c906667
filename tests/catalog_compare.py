"""Compare two catalogs row by row, whatever ids they handed out (issue 7's equality checks).

Why canonical: two catalogs built from the same records (one crawl against four concurrent
ones, a killed crawl plus a re-run) may number their works differently; what must agree is
every work's content, which records it holds, every decision, flag and attachment. So each
work is labelled by the smallest (site, url, type, item_key) of its source records, each
record by that key, and every work id in the catalog (source records, decisions, flags and
their evidence, reviews, offers, quotes, ratings) is replaced by its label.

Tables are read with SQLAlchemy Core by reflection, not through ``pipelines.catalog.models``,
so a snapshot also reads a catalog whose schema is older or newer than the code's. Columns a
schema lacks read as None. Timestamps, run ids, raw payloads and decision reasons are left
out: they legitimately differ between two crawls of the same pages. ``work_alias`` (ids merged
away) is ignored: aliases record id history, not content.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import uuid
from collections import Counter, defaultdict
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import MetaData, Table, create_engine, inspect, select, text
from sqlalchemy.engine import Engine, make_url

TABLES = (
    "work", "work_title", "external_id", "person", "credit", "source_record", "match_decision",
    "rating", "review", "offer", "quote", "flag", "quarantine",
)  # fmt: skip
WORK_FIELDS = ("title", "original_title", "year", "kind", "runtime_minutes", "synopsis", "genres")
_WORK_REF = re.compile(r"#(\d+)")
_IDENTITY_WORK = re.compile(r":w(\d+):")  # the work in a decision's identity (review:w12:…)
MAX_DIFF_LINES = 40
MAX_LINE = 200

Row = dict[str, Any]


def engine_for(db_url: str) -> Engine:
    """An engine for any catalog URL the CLI accepts (``postgresql://`` means psycopg 3)."""
    url = make_url(db_url)
    if url.drivername in {"postgresql", "postgres"}:
        url = url.set(drivername="postgresql+psycopg")
    return create_engine(url)


def read_tables(db_url: str) -> dict[str, list[Row]]:
    """Every row of the catalog tables that exist, as plain dicts (JSON columns decoded)."""
    engine = engine_for(db_url)
    try:
        with engine.connect() as conn:
            present = set(inspect(conn).get_table_names())
            meta = MetaData()
            out: dict[str, list[Row]] = {}
            for name in TABLES:
                if name not in present:
                    continue
                table = Table(name, meta, autoload_with=conn)
                order = [table.c.id] if "id" in table.c else []
                out[name] = [dict(r._mapping) for r in conn.execute(select(table).order_by(*order))]
    finally:
        engine.dispose()
    return out


def _json(value: Any) -> Any:
    if isinstance(value, str) and value[:1] in ("[", "{"):
        try:
            return json.loads(value)
        except ValueError:
            return value
    return value


def _freeze(value: Any) -> Any:
    """Lists and dicts as hashable, orderable tuples (for sorting rows into lists)."""
    if isinstance(value, dict):
        return tuple(sorted((str(k), _freeze(v)) for k, v in value.items()))
    if isinstance(value, list | tuple):
        return tuple(_freeze(v) for v in value)
    if isinstance(value, float):
        return round(value, 6)
    return value


def _sort_key(value: Any) -> str:
    return json.dumps(value, sort_keys=True, default=str)


def record_key(row: Row) -> str:
    """A source record's identity in any catalog: site | url | type | item_key."""
    return "|".join(str(row.get(k) or "") for k in ("site", "url", "type", "item_key"))


def snapshot(db_url: str) -> dict[str, Any]:
    """The catalog at ``db_url`` in canonical form: equal for equal content, whatever the ids."""
    t = read_tables(db_url)
    records = t.get("source_record", [])
    rec_key = {r["id"]: record_key(r) for r in records}
    by_work: dict[Any, list[str]] = defaultdict(list)
    for r in records:
        if r.get("work_id") is not None:
            by_work[r["work_id"]].append(rec_key[r["id"]])
    works = {w["id"]: w for w in t.get("work", [])}
    label: dict[Any, str] = {wid: "work:" + min(keys) for wid, keys in by_work.items()}
    orphans = sorted((w for wid, w in works.items() if wid not in label), key=_orphan_order)
    for n, w in enumerate(orphans):
        label[w["id"]] = f"orphan-work:{w.get('title')}|{w.get('year')}|{w.get('kind')}#{n}"

    def lab(wid: Any) -> str | None:
        if wid is None:
            return None
        try:
            wid = int(wid)
        except (TypeError, ValueError):
            return f"not-a-work-id:{wid}"
        return label.get(wid, f"dangling-work-id:{'known' if wid in works else 'missing'}")

    def relabel(value: Any, key: str = "") -> Any:
        """Work ids inside JSON (flag evidence): under *work_id keys and candidate lists."""
        if isinstance(value, dict):
            return {k: relabel(v, k) for k, v in value.items()}
        if isinstance(value, list):
            return [relabel(v, key) for v in value]
        if key.endswith("work_id") or (key == "candidates" and isinstance(value, int | str)):
            return lab(value)
        return value

    def relabel_text(text: Any) -> Any:
        return (
            _WORK_REF.sub(lambda m: f"#<{lab(m.group(1))}>", text)
            if isinstance(text, str)
            else text
        )

    def rk(rid: Any) -> str | None:
        return None if rid is None else rec_key.get(rid, f"dangling-record-id:{rid}")

    persons = {p["id"]: p for p in t.get("person", [])}
    per_work: dict[str, dict[Any, list[Row]]] = {}
    for table in ("work_title", "external_id", "credit"):
        per_work[table] = defaultdict(list)
        for r in t.get(table, []):
            per_work[table][r.get("work_id")].append(r)
    out_works: dict[str, Any] = {}
    for wid, w in works.items():
        entry = {f: _freeze(_json(w.get(f))) for f in WORK_FIELDS}
        entry["records"] = sorted(by_work.get(wid, []))
        titles = [
            (
                r.get("title"),
                r.get("key"),
                r.get("language"),
                r.get("region"),
                r.get("type"),
                rk(r.get("source_record_id")),
            )  # fmt: skip
            for r in per_work["work_title"][wid]
        ]
        entry["titles"] = sorted(titles, key=_sort_key)
        ids = [
            (r.get("namespace"), r.get("value"), rk(r.get("source_record_id")))
            for r in per_work["external_id"][wid]
        ]
        entry["external_ids"] = sorted(ids, key=_sort_key)
        credits = [
            (
                persons.get(r.get("person_id"), {}).get("key"),
                r.get("role"),
                r.get("character"),
                r.get("character_key"),
                r.get("order"),
                rk(r.get("source_record_id")),
            )  # fmt: skip
            for r in per_work["credit"][wid]
        ]
        entry["credits"] = sorted(credits, key=_sort_key)
        out_works[label[wid]] = entry

    decisions = {d.get("source_record_id"): d for d in t.get("match_decision", [])}
    out_records: dict[str, Any] = {}
    for r in records:
        d = decisions.get(r["id"], {})
        score = d.get("score")
        out_records[rec_key[r["id"]]] = {
            "work": lab(r.get("work_id")),
            "resolved": r.get("resolved"),
            "content_hash": r.get("content_hash"),
            "decision": d.get("outcome"),
            "decision_work": lab(d.get("work_id")),
            "score": None if score is None else round(float(score), 6),
            "identity": _IDENTITY_WORK.sub(
                lambda m: f":<{lab(m.group(1))}>:", d.get("identity") or ""
            ),
            "duplicate_of": rk(d.get("duplicate_of")),
        }

    flags = sorted(
        (
            (
                f.get("kind"),
                rk(f.get("source_record_id")),
                lab(f.get("work_id")),
                relabel_text(f.get("detail")),
                _sort_key(relabel(_json(f.get("evidence")))),
            )  # fmt: skip
            for f in t.get("flag", [])
        ),
        key=_sort_key,
    )

    def attachments(table: str, fields: tuple[str, ...]) -> list[Any]:
        rows = (
            (
                rk(r.get("source_record_id")),
                lab(r.get("work_id")),
                *(_freeze(_json(r.get(f))) for f in fields),
            )  # fmt: skip
            for r in t.get(table, [])
        )
        return sorted(rows, key=_sort_key)

    reviews = attachments("review", ("site", "url", "author", "published_at", "title", "body",
                                     "rating_value_100", "rating_raw", "critic"))  # fmt: skip
    offers = attachments("offer", ("site", "provider", "country", "monetization", "quality",
                                   "price", "currency", "url"))  # fmt: skip
    quotes = attachments("quote", ("site", "url", "lines"))
    ratings = attachments("rating", ("source", "raw", "scale_max", "value_100", "count", "kind"))
    quarantine = sorted(
        ((q.get("site"), q.get("url"), q.get("record_type"), q.get("reason"))
         for q in t.get("quarantine", [])),
        key=_sort_key,
    )  # fmt: skip

    person_keys = Counter(p.get("key") for p in t.get("person", []))
    id_works: dict[tuple[Any, Any], set[Any]] = defaultdict(set)
    for e in t.get("external_id", []):
        id_works[(e.get("namespace"), e.get("value"))].add(e.get("work_id"))
    record_keys = Counter(rec_key.values())
    duplicates = {
        "persons": sorted((k, n) for k, n in person_keys.items() if n > 1),
        "external_ids": sorted(
            (f"{ns}:{v}", sorted(str(lab(w)) for w in ws))
            for (ns, v), ws in id_works.items()
            if len(ws) > 1
        ),
        "records": sorted((k, n) for k, n in record_keys.items() if n > 1),
    }
    return {
        "counts": {name: len(rows) for name, rows in t.items()},
        "works": out_works,
        "records": out_records,
        "flags": flags,
        "reviews": reviews,
        "offers": offers,
        "quotes": quotes,
        "ratings": ratings,
        "persons": sorted(str(k) for k in person_keys.elements()),
        "quarantine": quarantine,
        "duplicates": duplicates,
    }


def _orphan_order(w: Row) -> str:
    return _sort_key([w.get(f) for f in WORK_FIELDS])


def duplicate_count(snap: dict[str, Any]) -> int:
    """Duplicated persons, works sharing an external id, and repeated record keys."""
    d = snap["duplicates"]
    return len(d["persons"]) + len(d["external_ids"]) + len(d["records"])


# ------------------------------------------------------------------------------ diff


def _short(value: Any) -> str:
    text = value if isinstance(value, str) else json.dumps(value, default=str, ensure_ascii=False)
    return text if len(text) <= MAX_LINE else text[: MAX_LINE - 1] + "…"


def _dict_diff(name: str, a: dict[str, Any], b: dict[str, Any], names: tuple[str, str],
               limit: int = 3) -> list[str]:  # fmt: skip
    lines: list[str] = []
    only_a = sorted(set(a) - set(b))
    only_b = sorted(set(b) - set(a))
    changed = sorted(k for k in set(a) & set(b) if a[k] != b[k])
    if only_a:
        lines.append(f"{name}: {len(only_a)} only in {names[0]}, e.g.")
        lines += [f"    {_short(k)}" for k in only_a[:limit]]
    if only_b:
        lines.append(f"{name}: {len(only_b)} only in {names[1]}, e.g.")
        lines += [f"    {_short(k)}" for k in only_b[:limit]]
    if changed:
        fields: Counter[str] = Counter()
        for k in changed:
            va, vb = a[k], b[k]
            if isinstance(va, dict) and isinstance(vb, dict):
                fields.update(f for f in set(va) | set(vb) if va.get(f) != vb.get(f))
        by_field = f" (by field: {dict(fields.most_common())})" if fields else ""
        lines.append(f"{name}: {len(changed)} differ{by_field}, e.g.")
        for k in changed[:limit]:
            va, vb = a[k], b[k]
            if isinstance(va, dict) and isinstance(vb, dict):
                fields = sorted(f for f in set(va) | set(vb) if va.get(f) != vb.get(f))
                detail = "; ".join(
                    f"{f}: {_short(va.get(f))} != {_short(vb.get(f))}" for f in fields[:4]
                )
            else:
                detail = f"{_short(va)} != {_short(vb)}"
            lines.append(_short(f"    {k}: {detail}"))
    return lines


def _list_diff(name: str, a: list[Any], b: list[Any], names: tuple[str, str],
               limit: int = 3) -> list[str]:  # fmt: skip
    ca, cb = Counter(map(_sort_key, a)), Counter(map(_sort_key, b))
    only_a, only_b = list((ca - cb).elements()), list((cb - ca).elements())
    lines: list[str] = []
    if only_a:
        lines.append(f"{name}: {len(only_a)} only in {names[0]}, e.g.")
        lines += [f"    {_short(x)}" for x in sorted(only_a)[:limit]]
    if only_b:
        lines.append(f"{name}: {len(only_b)} only in {names[1]}, e.g.")
        lines += [f"    {_short(x)}" for x in sorted(only_b)[:limit]]
    return lines


SECTION_ORDER = ("counts", "duplicates", "works", "records", "flags", "reviews", "offers",
                 "quotes", "ratings", "persons", "quarantine")  # fmt: skip


def diff(a: dict[str, Any], b: dict[str, Any], names: tuple[str, str] = ("a", "b")) -> str:
    """What differs between two snapshots, readable and bounded ("" when they are equal):
    row counts first, then per section what is only on one side and what changed."""
    lines: list[str] = []
    sections = [s for s in SECTION_ORDER if s in a or s in b]
    sections += sorted((set(a) | set(b)) - set(sections))
    for section in sections:
        va, vb = a.get(section), b.get(section)
        if va == vb:
            continue
        if section == "counts" and isinstance(va, dict) and isinstance(vb, dict):
            counts = ", ".join(f"{t} {va.get(t)} != {vb.get(t)}" for t in sorted(set(va) | set(vb))
                               if va.get(t) != vb.get(t))  # fmt: skip
            lines.append(f"row counts ({names[0]} != {names[1]}): {counts}")
        elif isinstance(va, dict) and isinstance(vb, dict):
            lines += _dict_diff(section, va, vb, names, limit=10 if section == "duplicates" else 3)
        elif isinstance(va, list) and isinstance(vb, list):
            lines += _list_diff(section, va, vb, names)
        else:
            lines.append(f"{section}: {_short(va)} != {_short(vb)}")
    if len(lines) > MAX_DIFF_LINES:
        lines = lines[:MAX_DIFF_LINES] + [f"... ({len(lines) - MAX_DIFF_LINES} more lines)"]
    return "\n".join(lines)


def assert_same_catalog(a: dict[str, Any], b: dict[str, Any],
                        names: tuple[str, str] = ("a", "b")) -> None:  # fmt: skip
    """Fail with a bounded description of the differences unless the two snapshots match."""
    if a != b:
        raise AssertionError("catalogs differ:\n" + diff(a, b, names))


# ------------------------------------------------------------------------------ runs and databases


def crawl_runs(db_url: str) -> list[Row]:
    """Every ``crawl_run`` row (whatever columns this schema has), stats decoded; [] when the
    table does not exist yet."""
    engine = engine_for(db_url)
    try:
        with engine.connect() as conn:
            if "crawl_run" not in inspect(conn).get_table_names():
                return []
            table = Table("crawl_run", MetaData(), autoload_with=conn)
            rows = [dict(r._mapping) for r in conn.execute(select(table).order_by(table.c.id))]
    finally:
        engine.dispose()
    for row in rows:
        row["stats"] = _json(row.get("stats"))
    return rows


def count_rows(db_url: str, table: str) -> int:
    """Rows in ``table``; 0 when the table does not exist (yet)."""
    engine = engine_for(db_url)
    try:
        with engine.connect() as conn:
            if table not in inspect(conn).get_table_names():
                return 0
            t = Table(table, MetaData(), autoload_with=conn)
            return len(conn.execute(select(t.c.id)).all())
    finally:
        engine.dispose()


def rows_of_run(db_url: str, table: str, run_id: Any) -> int:
    """How many rows of ``table`` (source_record, quarantine) name ``run_id`` as their run."""
    engine = engine_for(db_url)
    try:
        with engine.connect() as conn:
            t = Table(table, MetaData(), autoload_with=conn)
            if "crawl_run_id" not in t.c:
                return 0
            return len(conn.execute(select(t.c.id).where(t.c.crawl_run_id == run_id)).all())
    finally:
        engine.dispose()


def postgres_server_url() -> str:
    """The server the PostgreSQL tests use (the same variable as ``tests/conftest.py``)."""
    return os.environ.get("FILMAGG_TEST_PG_URL", "postgresql://postgres@127.0.0.1:5432/test")


@contextmanager
def fresh_postgres_database(server_url: str | None = None) -> Iterator[str]:
    """A new, empty database on the PostgreSQL server (no schema: a crawl creates it), dropped
    afterwards. For the module-wide reference catalogs and the extra catalogs a test needs
    beyond the one the ``postgres_url`` fixture gives. Raises when there is no server."""
    base = make_url(server_url or postgres_server_url()).set(drivername="postgresql+psycopg")
    name = f"filmagg_e2e_{uuid.uuid4().hex[:10]}"
    admin = create_engine(base, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
        yield base.set(database=name).render_as_string(hide_password=False)
    finally:
        with contextlib.suppress(Exception), admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@contextmanager
def fresh_catalog(backend: str, folder: Any, name: str) -> Iterator[str]:
    """A new catalog with no schema: an SQLite file in ``folder``, or a new database on the
    PostgreSQL server (dropped afterwards)."""
    if backend == "sqlite":
        yield f"sqlite:///{folder / (name + '.db')}"
    else:
        with fresh_postgres_database() as url:
            yield url

"""A persistent store for the normalized cache: SQLite from the standard library.

The chapter opens a ``HiveStore`` so the cache survives an app restart; this is
that role for a kernel restart. One row per entity (its fields as JSON, references
as ``{"__ref": id}``), a ``meta`` table holding the schema version, and writes in
one transaction, so a crash mid-save leaves the previous snapshot whole.

What the chapter leaves out, and this does not:

* **A version.** A store written by another layout of the cache is refused with
  :class:`StoreVersionError` saying what to do, instead of being read as garbage.
* **Forgetting.** The chapter persists every cached query, ``me`` and e-mail
  addresses included, and never clears it: the next user of the device starts
  with the last one's data. :meth:`SqliteStore.clear` is the call a logout makes.
* **Only the base store is saved**: optimistic layers are guesses, not data.

Optimistic layers and configuration (key fields, merge functions) are code, not
data: pass the same options to :func:`load` that built the saved cache.
"""

from __future__ import annotations

import json
import os
import sqlite3
from pathlib import Path
from typing import Any

from rtlab.graphql.cache import NormalizedCache
from rtlab.graphql.documents import CacheError

SCHEMA_VERSION = 1


class StoreVersionError(CacheError):
    """The file was written with another schema version of the store."""


class SqliteStore:
    """The cache's SQLite file. ``save`` replaces its content; ``flush`` writes only the
    entities changed since the cache was :meth:`attach`-ed or last flushed."""

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path)
        self._db = sqlite3.connect(self.path)
        self._dirty: set[str] = set()
        self._detach: Any = None
        self._check_schema()

    def _check_schema(self) -> None:
        db = self._db
        tables = {r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type='table'")}
        if "meta" not in tables:
            if tables:
                raise StoreVersionError(
                    f"{self.path} is an SQLite file but not an rtlab cache store "
                    f"(tables: {sorted(tables)}); choose another path"
                )
            with db:
                db.execute("CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)")
                db.execute("CREATE TABLE entities (id TEXT PRIMARY KEY, fields TEXT NOT NULL)")
                db.execute("INSERT INTO meta VALUES ('schema_version', ?)", (str(SCHEMA_VERSION),))
            return
        row = db.execute("SELECT value FROM meta WHERE key='schema_version'").fetchone()
        found = row[0] if row else None
        if found != str(SCHEMA_VERSION):
            raise StoreVersionError(
                f"{self.path} holds a cache store of schema version {found}, but this rtlab "
                f"reads version {SCHEMA_VERSION}; delete the file (it is only a cache) or "
                f"open it with the rtlab that wrote it"
            )

    def save(self, cache: NormalizedCache) -> int:
        """Replace the stored snapshot with the cache's base store; returns the entity count."""
        snapshot = cache.extract()
        rows = [(eid, json.dumps(fields, separators=(",", ":"))) for eid, fields in
                snapshot.items()]
        with self._db:
            self._db.execute("DELETE FROM entities")
            self._db.executemany("INSERT INTO entities VALUES (?, ?)", rows)
        self._dirty.clear()
        return len(rows)

    def attach(self, cache: NormalizedCache) -> None:
        """Track the cache's changes so :meth:`flush` writes only those."""
        if self._detach is not None:
            self._detach()
        self._dirty.clear()
        self._cache = cache
        self._detach = cache.on_change(self._mark)

    def _mark(self, ids: frozenset[str]) -> None:
        self._dirty.update(ids)

    def flush(self) -> int:
        """Write the entities changed since the last flush (deleting evicted ones)."""
        if self._detach is None:
            raise CacheError("flush() needs a cache: call attach(cache) first")
        dirty, self._dirty = self._dirty, set()
        rows, gone = [], []
        for eid in dirty:
            fields = self._cache.get(eid, optimistic=False)
            if fields is None:
                gone.append((eid,))
            else:
                rows.append((eid, json.dumps(fields, separators=(",", ":"))))
        with self._db:
            self._db.executemany("DELETE FROM entities WHERE id = ?", gone)
            self._db.executemany("INSERT OR REPLACE INTO entities VALUES (?, ?)", rows)
        return len(rows) + len(gone)

    def snapshot(self) -> dict[str, dict[str, Any]]:
        """The stored entities, as :meth:`NormalizedCache.extract` gave them."""
        out = {}
        for eid, text in self._db.execute("SELECT id, fields FROM entities ORDER BY rowid"):
            try:
                out[eid] = json.loads(text)
            except json.JSONDecodeError as exc:
                raise CacheError(f"{self.path}: entity {eid!r} is not valid JSON ({exc})") from exc
        return out

    def load(self, cache: NormalizedCache | None = None, **options: Any) -> NormalizedCache:
        """Restore the stored snapshot into ``cache`` (or a new one built with ``options``)."""
        if cache is None:
            cache = NormalizedCache(**options)
        cache.restore(self.snapshot())
        return cache

    def clear(self) -> None:
        """Delete every stored entity (on logout: the next user must not see this one's data)."""
        with self._db:
            self._db.execute("DELETE FROM entities")
        self._dirty.clear()

    def close(self) -> None:
        if self._detach is not None:
            self._detach()
            self._detach = None
        self._db.close()

    def __enter__(self) -> SqliteStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def save(cache: NormalizedCache, path: str | os.PathLike[str]) -> int:
    """Save the cache's base store to ``path`` (created if absent); returns the entity count."""
    with SqliteStore(path) as store:
        return store.save(cache)


def load(path: str | os.PathLike[str], **options: Any) -> NormalizedCache:
    """A new cache (built with ``options``) holding what ``path`` stores."""
    if not Path(path).exists():
        raise FileNotFoundError(f"no cache store at {path}")
    with SqliteStore(path) as store:
        return store.load(**options)

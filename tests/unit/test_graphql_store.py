"""The SQLite store: a cache saved by one process is read by another; versions are checked."""

from __future__ import annotations

import sqlite3
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from rtlab.graphql import NormalizedCache, SqliteStore, StoreVersionError, load, save
from rtlab.graphql.store import SCHEMA_VERSION

GET_USER = "query GetUser($userId: ID!) { user(id: $userId) { id name posts { id title } } }"

WRITER = textwrap.dedent("""
    import sys
    from rtlab.graphql import NormalizedCache, save
    cache = NormalizedCache()
    cache.write_query(
        "query GetUser($userId: ID!) { user(id: $userId) { id name posts { id title } } }",
        {"userId": "1"},
        {"user": {"__typename": "User", "id": "1", "name": "Alice",
                  "posts": [{"__typename": "Post", "id": "7", "title": "Hello"}]}},
    )
    print(save(cache, sys.argv[1]))
""")


def test_a_cache_saved_by_another_process_is_read_back(tmp_path: Path) -> None:
    path = tmp_path / "cache.sqlite"
    done = subprocess.run([sys.executable, "-c", WRITER, str(path)], capture_output=True,
                          text=True, timeout=60, check=True)
    assert done.stdout.strip() == "3"  # ROOT_QUERY, User:1, Post:7
    cache = load(path)
    assert cache.read_query(GET_USER, {"userId": "1"}) == {"user": {
        "__typename": "User", "id": "1", "name": "Alice",
        "posts": [{"__typename": "Post", "id": "7", "title": "Hello"}]}}


def test_another_schema_version_is_refused_with_what_to_do(tmp_path: Path) -> None:
    path = tmp_path / "cache.sqlite"
    save(NormalizedCache(), path)
    with sqlite3.connect(path) as db:
        db.execute("UPDATE meta SET value = '99' WHERE key = 'schema_version'")
    db.close()
    with pytest.raises(StoreVersionError,
                       match=f"schema version 99, but this rtlab reads version "
                             f"{SCHEMA_VERSION}; delete the file"):
        load(path)


def test_a_foreign_sqlite_file_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "other.sqlite"
    with sqlite3.connect(path) as db:
        db.execute("CREATE TABLE notes (x TEXT)")
    db.close()
    with pytest.raises(StoreVersionError, match="not an rtlab cache store"):
        SqliteStore(path)
    with pytest.raises(FileNotFoundError, match="no cache store"):
        load(tmp_path / "absent.sqlite")


def test_flush_writes_only_changes_and_deletes_evicted(tmp_path: Path) -> None:
    path = tmp_path / "cache.sqlite"
    cache = NormalizedCache()
    cache.write_query(GET_USER, {"userId": "1"}, {"user": {
        "__typename": "User", "id": "1", "name": "Alice",
        "posts": [{"__typename": "Post", "id": "7", "title": "Hello"}]}})
    with SqliteStore(path) as store:
        store.save(cache)
        store.attach(cache)
        cache.write_fragment("fragment N on User { name }", "User:1", {"name": "Ada"})
        assert store.flush() == 1
        cache.evict("Post:7")
        cache.write_query(GET_USER, {"userId": "1"}, {"user": {
            "__typename": "User", "id": "1", "name": "Ada", "posts": []}}, optimistic_id="m")
        # the eviction, and User:1 as the base holds it: the optimistic layer is not data
        assert store.flush() == 2
    again = load(path)
    assert again.get("User:1")["name"] == "Ada"
    assert again.get("User:1")["posts"] == [{"__ref": "Post:7"}]  # not the layer's []
    assert "Post:7" not in again
    assert again.extract() == cache.extract()


def test_clear_forgets_everything_as_a_logout_must(tmp_path: Path) -> None:
    path = tmp_path / "cache.sqlite"
    cache = NormalizedCache()
    cache.write_query("{ me { id email } }", None,
                      {"me": {"__typename": "User", "id": "1", "email": "a@x"}})
    with SqliteStore(path) as store:
        store.save(cache)
        assert "User:1" in store.snapshot()
        store.clear()
    assert load(path).ids() == []
    with SqliteStore(path) as store, pytest.raises(Exception, match="attach"):
        store.flush()

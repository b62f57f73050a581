"""The normalized cache, one behaviour per test: normalization, keys, fragments, errors,
eviction, watchers, merge functions, optimistic layers and memoized reads."""

from __future__ import annotations

import copy

import pytest
from graphql import print_ast

from rtlab.graphql import (
    DELETE,
    DocumentError,
    NormalizedCache,
    Ref,
    VariableError,
    WriteError,
    add_typename,
    offset_limit,
)

GET_USER = """
query GetUser($userId: ID!) {
  user(id: $userId) { id name email posts(limit: 10) { id title } }
}
"""
USER_NAME = "query UserName($userId: ID!) { user(id: $userId) { id name } }"
NAME = "fragment Name on User { name }"


def user(uid: str = "1", name: str = "Alice", posts: int = 2) -> dict:
    return {"user": {
        "__typename": "User", "id": uid, "name": name, "email": f"{name.lower()}@x",
        "posts": [{"__typename": "Post", "id": f"{uid}-{i}", "title": f"T{i}"}
                  for i in range(posts)],
    }}


def test_objects_are_stored_once_under_typename_and_id() -> None:
    cache = NormalizedCache()
    report = cache.write_query(GET_USER, {"userId": "1"}, user())
    assert report.changed == {"ROOT_QUERY", "User:1", "Post:1-0", "Post:1-1"}
    stored = cache.extract()
    assert stored["ROOT_QUERY"]['user({"id":"1"})'] == {"__ref": "User:1"}
    assert stored["User:1"]['posts({"limit":10})'] == [{"__ref": "Post:1-0"},
                                                        {"__ref": "Post:1-1"}]
    assert stored["Post:1-0"] == {"__typename": "Post", "id": "1-0", "title": "T0"}


def test_write_then_read_gives_the_data_back() -> None:
    cache = NormalizedCache()
    cache.write_query(GET_USER, {"userId": "1"}, user())
    assert cache.read_query(GET_USER, {"userId": "1"}) == user()


def test_add_typename_adds_it_below_the_root_only_and_is_idempotent() -> None:
    doc = add_typename(GET_USER + NAME)
    text = print_ast(doc)
    assert text.count("__typename") == 3  # user, posts, fragment Name; not Query
    assert print_ast(add_typename(doc)) == text
    assert "__typename" not in print_ast(add_typename("{ __schema { types { name } } }"))


def test_arguments_from_variables_make_separate_storage_keys() -> None:
    q = "query P($n: Int) { posts(limit: $n) { id } }"
    cache = NormalizedCache()
    cache.write_query(q, {"n": 1}, {"posts": [{"__typename": "Post", "id": "a"}]})
    cache.write_query(q, {"n": 2}, {"posts": [{"__typename": "Post", "id": "a"},
                                              {"__typename": "Post", "id": "b"}]})
    root = cache.get("ROOT_QUERY")
    assert 'posts({"limit":1})' in root and 'posts({"limit":2})' in root
    assert cache.read_query(q, {"n": 1}) == {"posts": [{"__typename": "Post", "id": "a"}]}
    # an unset nullable variable leaves the argument out, as a server would
    cache.write_query(q, {}, {"posts": []})
    assert "posts" in cache.get("ROOT_QUERY")


def test_aliases_are_stored_under_the_field_and_returned_under_the_alias() -> None:
    q = "{ me: user(id: 1) { id handle: name } }"
    cache = NormalizedCache()
    cache.write_query(q, None, {"me": {"__typename": "User", "id": "1", "handle": "Al"}})
    assert cache.get("User:1")["name"] == "Al"
    assert cache.read_query(q) == {"me": {"__typename": "User", "id": "1", "handle": "Al"}}
    other = "{ user(id: 1) { id name } }"  # the same field, no alias: shares the entry
    assert cache.read_query(other) == {"user": {"__typename": "User", "id": "1", "name": "Al"}}


def test_compound_key_fields() -> None:
    q = "{ room { messages { roomId id text } } }"
    cache = NormalizedCache(key_fields={"Message": ["roomId", "id"], "Room": False})
    cache.write_query(q, None, {"room": {"__typename": "Room", "messages": [
        {"__typename": "Message", "roomId": "general", "id": "1", "text": "hi"},
        {"__typename": "Message", "roomId": "random", "id": "1", "text": "yo"}]}})
    assert 'Message:{"roomId":"general","id":"1"}' in cache
    assert 'Message:{"roomId":"random","id":"1"}' in cache
    assert cache.identify({"__typename": "Message", "roomId": "general", "id": "1"}) == \
        'Message:{"roomId":"general","id":"1"}'
    assert not cache.notes  # Room is inline by choice: no note


def test_key_function_and_identify() -> None:
    cache = NormalizedCache(key_fields={"Book": lambda o: f"Book:{o['isbn']}"})
    assert cache.identify({"__typename": "Book", "isbn": "978"}) == "Book:978"
    assert cache.identify({"__typename": "User", "id": 7}) == "User:7"
    assert cache.identify({"__typename": "User"}) is None
    assert cache.identify({"id": "1"}) is None


def test_an_object_without_id_is_kept_inline_with_a_note() -> None:
    cache = NormalizedCache()
    report = cache.write_query("{ feed { title } }", None,
                               {"feed": [{"__typename": "Post", "title": "x"}]})
    assert cache.ids() == ["ROOT_QUERY"]
    assert cache.get("ROOT_QUERY")["feed"] == [{"__typename": "Post", "title": "x"}]
    (note,) = report.notes
    assert "ROOT_QUERY.feed" in note and "without id" in note and "stored inline" in note
    assert list(cache.notes) == [note]
    assert cache.read_query("{ feed { title } }") == {"feed": [{"__typename": "Post",
                                                                "title": "x"}]}


def test_an_object_without_typename_is_not_normalized_and_says_so() -> None:
    # the chapter's optimisticResult has no __typename: its post and author stay inline
    cache = NormalizedCache()
    q = "mutation { createPost { id title author { id name } } }"
    report = cache.write_query(q, None, {"createPost": {
        "id": "temp-1", "title": "x", "author": {"id": "current-user-id", "name": "Me"}}})
    assert cache.ids() == ["ROOT_MUTATION"]
    assert any("without __typename" in n for n in report.notes)


def test_missing_fields_in_written_data_are_noted_and_read_as_missing() -> None:
    cache = NormalizedCache()
    report = cache.write_query(USER_NAME, {"userId": "1"},
                               {"user": {"__typename": "User", "id": "1"}})
    assert any("User:1.name: missing" in n for n in report.notes)
    result = cache.diff(USER_NAME, {"userId": "1"})
    assert not result.complete and result.missing == ("user.name",)
    assert result.data == {"user": {"__typename": "User", "id": "1"}}
    assert cache.read_query(USER_NAME, {"userId": "1"}) is None
    assert cache.read_query(USER_NAME, {"userId": "1"}, partial=True) == result.data


def test_data_that_does_not_fit_the_document_is_refused() -> None:
    cache = NormalizedCache()
    with pytest.raises(WriteError, match=r"ROOT_QUERY\.user: expected an object or a list"):
        cache.write_query(USER_NAME, {"userId": "1"}, {"user": "Alice"})
    assert cache.ids() == []
    with pytest.raises(TypeError, match="needs data"):
        cache.write_query(USER_NAME, {"userId": "1"})


def test_fragments_and_inline_fragments_match_on_typename_and_possible_types() -> None:
    q = """
    { search { ...Hit } }
    fragment Hit on SearchResult {
      ... on User { id name }
      ... on Post { id title }
      ... on Node { id }
    }
    """
    cache = NormalizedCache(possible_types={"SearchResult": ["User", "Post"],
                                            "Node": ["User", "Post"]})
    data = {"search": [{"__typename": "User", "id": "1", "name": "A"},
                       {"__typename": "Post", "id": "9", "title": "T"}]}
    cache.write_query(q, None, data)
    assert cache.get("User:1") == {"__typename": "User", "id": "1", "name": "A"}
    assert cache.get("Post:9") == {"__typename": "Post", "id": "9", "title": "T"}
    assert cache.read_query(q) == data


def test_a_fragment_of_another_type_contributes_no_fields() -> None:
    q = "{ node { id ... on Post { title } } }"
    cache = NormalizedCache()
    cache.write_query(q, None, {"node": {"__typename": "User", "id": "1"}})
    assert cache.diff(q).complete  # Post.title is not asked of a User


def test_skip_and_include_follow_variables() -> None:
    q = "query Q($full: Boolean!) { user(id: 1) { id email @include(if: $full) } }"
    cache = NormalizedCache()
    cache.write_query(q, {"full": False}, {"user": {"__typename": "User", "id": "1"}})
    assert cache.read_query(q, {"full": False}) == {"user": {"__typename": "User", "id": "1"}}
    assert cache.read_query(q, {"full": True}) is None


def test_read_and_write_fragment() -> None:
    cache = NormalizedCache()
    cache.write_query(GET_USER, {"userId": "1"}, user())
    assert cache.read_fragment(NAME, "User:1") == {"name": "Alice", "__typename": "User"}
    assert cache.read_fragment(NAME, "User:404") is None
    assert cache.diff_fragment(NAME, "User:404").missing == ("User:404",)
    cache.write_fragment(NAME, "User:1", {"name": "Ada"})
    assert cache.read_query(GET_USER, {"userId": "1"})["user"]["name"] == "Ada"
    # a new entity written through a fragment gets the fragment's type
    cache.write_fragment(NAME, "User:2", {"name": "Bob"})
    assert cache.get("User:2") == {"__typename": "User", "name": "Bob"}


def test_fragment_document_errors_are_clear() -> None:
    cache = NormalizedCache()
    two = NAME + " fragment Email on User { email }"
    with pytest.raises(DocumentError, match="2 fragments: pass fragment_name"):
        cache.read_fragment(two, "User:1")
    assert cache.read_fragment(two, "User:1", fragment_name="Email") is None
    with pytest.raises(DocumentError, match="no fragment named 'Nope'"):
        cache.read_fragment(two, "User:1", fragment_name="Nope")
    with pytest.raises(DocumentError, match=r"fragment \.\.\.Missing is used but not defined"):
        cache.read_query("{ user(id: 1) { ...Missing } }")
    with pytest.raises(DocumentError, match="no operation"):
        cache.read_query(NAME)
    with pytest.raises(DocumentError, match="not a GraphQL document"):
        cache.read_query("{ user(")


def test_the_chapters_fetch_more_variables_are_refused_by_name() -> None:
    chapter = """
    query GetUser($userId: ID!) {
      user(id: $userId) { id name posts(limit: 10) { id title } }
    }
    """
    cache = NormalizedCache()
    with pytest.raises(VariableError, match="'limit', 'offset' passed, but query GetUser"):
        cache.read_query(chapter, {"userId": "1", "limit": 10, "offset": 10})
    half_fixed = chapter.replace("posts(limit: 10)", "posts(limit: 10, offset: $offset)")
    with pytest.raises(VariableError, match=r"uses \$offset but does not declare it"):
        cache.read_query(half_fixed, {"userId": "1"})
    with pytest.raises(VariableError, match=r"needs variable \$userId"):
        cache.read_query(chapter, {})


def test_declared_defaults_apply() -> None:
    q = "query P($n: Int = 10) { posts(limit: $n) { id } }"
    cache = NormalizedCache()
    cache.write_query(q, None, {"posts": []})
    assert 'posts({"limit":10})' in cache.get("ROOT_QUERY")


def test_evicting_an_entity_leaves_a_dangling_reference_read_as_missing() -> None:
    cache = NormalizedCache()
    cache.write_query(GET_USER, {"userId": "1"}, user())
    assert cache.evict("Post:1-1") is True
    assert cache.evict("Post:1-1") is False
    result = cache.diff(GET_USER, {"userId": "1"})
    assert not result.complete and result.missing == ("user.posts[1]",)
    assert [p["id"] for p in result.data["user"]["posts"]] == ["1-0"]
    # the entity coming back makes the query whole again
    cache.write_fragment("fragment P on Post { id title }", "Post:1-1",
                         {"__typename": "Post", "id": "1-1", "title": "back"})
    assert cache.diff(GET_USER, {"userId": "1"}).complete


def test_evicting_a_field_removes_every_argument_variant_or_the_one_named() -> None:
    q = "query P($n: Int) { posts(limit: $n) { id } }"
    cache = NormalizedCache()
    for n in (1, 2):
        cache.write_query(q, {"n": n}, {"posts": []})
    assert cache.evict("ROOT_QUERY", "posts", args={"limit": 1})
    assert cache.read_query(q, {"n": 1}) is None and cache.read_query(q, {"n": 2}) is not None
    assert cache.evict("ROOT_QUERY", "posts")
    assert cache.read_query(q, {"n": 2}) is None
    assert not cache.evict("ROOT_QUERY", "posts")


def test_gc_drops_unreachable_entities_but_keeps_retained_ones() -> None:
    cache = NormalizedCache()
    cache.write_query(GET_USER, {"userId": "1"}, user())
    cache.write_fragment(NAME, "User:9", {"name": "Orphan"})
    cache.write_fragment(NAME, "User:8", {"name": "Kept"})
    cache.retain("User:8")
    assert cache.gc() == ["User:9"]
    cache.evict("ROOT_QUERY", "user")
    cache.release("User:8")
    assert sorted(cache.gc()) == ["Post:1-0", "Post:1-1", "User:1", "User:8"]
    assert cache.ids() == ["ROOT_QUERY"]


def test_modify_changes_stored_fields() -> None:
    cache = NormalizedCache()
    cache.write_query(GET_USER, {"userId": "1"}, user())
    cache.write_fragment("fragment P on Post { id title }", "Post:new",
                         {"__typename": "Post", "id": "new", "title": "N"})
    assert cache.modify("User:1", {"posts": lambda refs: [Ref("Post:new"), *refs],
                                    "email": lambda _: DELETE})
    result = cache.diff(GET_USER, {"userId": "1"})
    assert [p["id"] for p in result.data["user"]["posts"]] == ["new", "1-0", "1-1"]
    assert result.missing == ("user.email",)
    assert not cache.modify("User:404", {"name": lambda v: v})


def test_two_views_of_one_user_stay_in_step() -> None:
    cache = NormalizedCache()
    cache.write_query(GET_USER, {"userId": "1"}, user())
    cache.write_query(USER_NAME, {"userId": "1"}, {"user": {"__typename": "User", "id": "1",
                                                           "name": "Alice"}})
    profile, header = [], []
    cache.watch(GET_USER, {"userId": "1"}, profile.append)
    cache.watch(USER_NAME, {"userId": "1"}, header.append)
    # a mutation's answer, normalized: both views change
    cache.write_query("mutation { updateUser(name: \"Ada\") { id name } }", None,
                      {"updateUser": {"__typename": "User", "id": "1", "name": "Ada"}})
    assert profile[-1].data["user"]["name"] == header[-1].data["user"]["name"] == "Ada"
    assert (len(profile), len(header)) == (1, 1)


def test_watchers_fire_only_when_something_they_read_changed() -> None:
    cache = NormalizedCache()
    cache.write_query(GET_USER, {"userId": "1"}, user())
    cache.write_query(USER_NAME, {"userId": "1"}, {"user": {"__typename": "User", "id": "1",
                                                           "name": "Alice"}})
    header = []
    stop = cache.watch(USER_NAME, {"userId": "1"}, header.append)
    cache.write_fragment("fragment E on User { email }", "User:1", {"email": "new@x"})
    cache.write_fragment("fragment P on Post { title }", "Post:1-0", {"title": "changed"})
    cache.write_fragment(NAME, "User:1", {"name": "Alice"})  # same value: no change
    assert header == []
    cache.write_fragment(NAME, "User:1", {"name": "Ada"})
    assert [r.data["user"]["name"] for r in header] == ["Ada"]
    assert stop.result.data["user"]["name"] == "Ada"
    stop()
    cache.write_fragment(NAME, "User:1", {"name": "Eve"})
    assert len(header) == 1


def test_a_watch_sees_missing_data_arrive_and_leave() -> None:
    cache = NormalizedCache()
    seen = []
    cache.watch(USER_NAME, {"userId": "1"}, seen.append)
    cache.write_query(USER_NAME, {"userId": "1"}, {"user": {"__typename": "User", "id": "1",
                                                           "name": "A"}})
    assert seen[-1].complete
    cache.evict("User:1")
    assert not seen[-1].complete and seen[-1].missing == ("user",)
    cache.write_fragment(NAME, "User:1", {"name": "B"})
    assert not seen[-1].complete and seen[-1].missing == ("user.id",)
    assert len(seen) == 3


def test_fragment_watch_and_batch_deliver_one_callback() -> None:
    cache = NormalizedCache()
    cache.write_fragment(NAME, "User:1", {"name": "A"})
    seen = []
    cache.watch(NAME, callback=seen.append, id="User:1")
    with cache.batch():
        cache.write_fragment(NAME, "User:1", {"name": "B"})
        cache.write_fragment(NAME, "User:1", {"name": "C"})
        assert seen == []
    assert [r.data["name"] for r in seen] == ["C"]


def test_on_change_reports_changed_ids() -> None:
    cache = NormalizedCache()
    changes = []
    stop = cache.on_change(changes.append)
    cache.write_query(USER_NAME, {"userId": "1"}, {"user": {"__typename": "User", "id": "1",
                                                           "name": "A"}})
    cache.write_fragment(NAME, "User:1", {"name": "A"})  # no change, no call
    cache.write_fragment(NAME, "User:1", {"name": "B"})
    assert changes == [{"ROOT_QUERY", "User:1"}, {"User:1"}]
    stop()
    cache.evict("User:1")
    assert len(changes) == 2


def test_offset_limit_merges_pages_into_one_list() -> None:
    q = """query Posts($userId: ID!, $limit: Int!, $offset: Int!) {
      user(id: $userId) { id posts(limit: $limit, offset: $offset) { id } } }"""
    cache = NormalizedCache(type_policies={"User": {"fields": {"posts": offset_limit()}}})

    def page(offset: int) -> dict:
        return {"user": {"__typename": "User", "id": "1", "posts": [
            {"__typename": "Post", "id": str(i)} for i in range(offset, offset + 2)]}}

    cache.write_query(q, {"userId": "1", "limit": 2, "offset": 0}, page(0))
    cache.write_query(q, {"userId": "1", "limit": 2, "offset": 2}, page(2))
    cache.write_query(q, {"userId": "1", "limit": 2, "offset": 2}, page(2))  # refetch: no dup
    assert sorted(cache.get("User:1")) == ["__typename", "id", "posts"]
    first = cache.read_query(q, {"userId": "1", "limit": 2, "offset": 0})
    assert [p["id"] for p in first["user"]["posts"]] == ["0", "1", "2", "3"]


def test_field_read_function_sees_args() -> None:
    cache = NormalizedCache(type_policies={"Query": {"fields": {"total": {
        "read": lambda existing, args: 42 if args.get("fake") else existing}}}})
    assert cache.read_query("{ total(fake: true) }") == {"total": 42}
    assert cache.read_query("{ total }") is None


def test_unknown_policy_keys_are_refused() -> None:
    with pytest.raises(ValueError, match="unknown keys"):
        NormalizedCache(type_policies={"User": {"fields": {"posts": {"marge": None}}}})
    with pytest.raises(ValueError, match="key_fields for User"):
        NormalizedCache(key_fields={"User": "id"})


def test_optimistic_layer_is_seen_then_removed_exactly() -> None:
    cache = NormalizedCache()
    cache.write_query(GET_USER, {"userId": "1"}, user())
    before = cache.extract(optimistic=True)
    seen = []
    cache.watch(GET_USER, {"userId": "1"}, seen.append)

    def optimistic(c: NormalizedCache) -> None:
        c.write_fragment("fragment P on Post { id title }", "Post:temp",
                         {"__typename": "Post", "id": "temp", "title": "sending"})
        c.modify("User:1", {"posts": lambda refs: [Ref("Post:temp"), *refs]})

    cache.record_optimistic("m1", optimistic)
    assert cache.optimistic_layers == ["m1"]
    assert cache.read_query(GET_USER, {"userId": "1"})["user"]["posts"][0]["id"] == "temp"
    base_view = cache.read_query(GET_USER, {"userId": "1"}, optimistic=False)
    assert len(base_view["user"]["posts"]) == 2
    assert len(seen) == 1 and seen[-1].data["user"]["posts"][0]["title"] == "sending"
    cache.remove_optimistic("m1")
    assert cache.extract(optimistic=True) == before
    assert len(seen) == 2 and len(seen[-1].data["user"]["posts"]) == 2
    assert not cache.remove_optimistic("m1")


def test_layers_above_a_removed_one_are_rebuilt() -> None:
    cache = NormalizedCache()
    cache.write_query(GET_USER, {"userId": "1"}, user(posts=0))
    post = "fragment P on Post { id title }"

    def prepend(pid: str):
        def fn(c: NormalizedCache) -> None:
            c.write_fragment(post, f"Post:{pid}", {"__typename": "Post", "id": pid, "title": pid})
            c.modify("User:1", {"posts": lambda refs: [Ref(f"Post:{pid}"), *refs]})
        return fn

    cache.record_optimistic("a", prepend("a"))
    cache.record_optimistic("b", prepend("b"))
    ids = lambda: [p["id"] for p in cache.read_query(GET_USER, {"userId": "1"})["user"]["posts"]]  # noqa: E731
    assert ids() == ["b", "a"]
    cache.remove_optimistic("a")
    assert ids() == ["b"]  # b's list was computed with a in it: rebuilt without it
    assert "Post:a" not in cache


def test_write_query_with_optimistic_id_and_failure_rolls_back() -> None:
    cache = NormalizedCache()
    cache.write_query(USER_NAME, {"userId": "1"}, {"user": {"__typename": "User", "id": "1",
                                                           "name": "A"}})
    cache.write_query(USER_NAME, {"userId": "1"}, {"user": {"__typename": "User", "id": "1",
                                                           "name": "Opt"}}, optimistic_id="m")
    assert cache.read_fragment(NAME, "User:1")["name"] == "Opt"
    assert cache.read_fragment(NAME, "User:1", optimistic=False)["name"] == "A"

    def broken(c: NormalizedCache) -> None:
        c.write_fragment(NAME, "User:1", {"name": "half"})
        raise RuntimeError("boom")

    with pytest.raises(RuntimeError):
        cache.record_optimistic("x", broken)
    assert cache.optimistic_layers == ["m"]
    assert cache.read_fragment(NAME, "User:1")["name"] == "Opt"
    with pytest.raises(Exception, match="cannot be nested"):
        cache.record_optimistic("y", lambda c: c.record_optimistic("z", lambda _: None))


def test_a_base_write_does_not_show_through_a_layer() -> None:
    cache = NormalizedCache()
    cache.write_fragment(NAME, "User:1", {"name": "A"})
    cache.write_fragment(NAME, "User:1", {"name": "A"}, optimistic_id="m")  # pins A
    cache.write_fragment(NAME, "User:1", {"name": "Server"})
    assert cache.read_fragment(NAME, "User:1")["name"] == "A"
    cache.remove_optimistic("m")
    assert cache.read_fragment(NAME, "User:1")["name"] == "Server"


def test_repeat_reads_are_memoized_and_changes_rebuild_only_what_they_reach() -> None:
    feed = "{ feed { id title author { id name } } }"
    data = {"feed": [{"__typename": "Post", "id": str(i), "title": f"T{i}",
                      "author": {"__typename": "User", "id": str(i % 3), "name": f"U{i % 3}"}}
                     for i in range(9)]}
    cache = NormalizedCache()
    cache.write_query(feed, None, copy.deepcopy(data))
    first = cache.read_query(feed)
    assert first == data
    assert cache.read_query(feed) is first  # nothing changed: the same object
    cache.write_fragment(NAME, "User:1", {"name": "Renamed"})
    second = cache.read_query(feed)
    assert second is not first
    for old, new in zip(first["feed"], second["feed"], strict=True):
        if new["author"]["id"] == "1":
            assert new is not old and new["author"]["name"] == "Renamed"
        else:
            assert new is old  # untouched posts are reused, not rebuilt


def test_restore_and_reset_update_watchers() -> None:
    cache = NormalizedCache()
    cache.write_query(USER_NAME, {"userId": "1"}, {"user": {"__typename": "User", "id": "1",
                                                           "name": "A"}})
    snapshot = cache.extract()
    seen = []
    cache.watch(USER_NAME, {"userId": "1"}, seen.append)
    cache.reset()
    assert seen[-1].data == {} and seen[-1].missing == ("user",) and len(cache) == 0
    cache.restore(snapshot)
    assert seen[-1].data["user"]["name"] == "A" and len(seen) == 2


def test_subscription_events_are_written_under_their_root() -> None:
    cache = NormalizedCache()
    cache.write_query("subscription { postCreated { id title } }", None,
                      {"postCreated": {"__typename": "Post", "id": "5", "title": "new"}})
    assert "ROOT_SUBSCRIPTION" in cache and "Post:5" in cache


def test_equal_documents_share_one_plan_and_its_memo() -> None:
    from graphql import parse

    cache = NormalizedCache()
    cache.write_query(USER_NAME, {"userId": "1"}, {"user": {"__typename": "User", "id": "1",
                                                           "name": "A"}})
    first = cache.read_query(parse(USER_NAME), {"userId": "1"})
    assert cache.read_query(parse(USER_NAME), {"userId": "1"}) is first
    assert cache.plan(parse(USER_NAME), {"userId": "1"}) is cache.plan(parse(USER_NAME),
                                                                       {"userId": "1"})

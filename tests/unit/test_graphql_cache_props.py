"""Properties of the normalized cache, on random small worlds of users and posts.

A *world* is the server's truth (users with a name and e-mail, posts with a title,
tags and an author); payloads are built from it the way a server would answer
each query, so the same entity always carries the same fields within one answer.
"""

from __future__ import annotations

import copy

from hypothesis import given, settings
from hypothesis import strategies as st

from rtlab.graphql import NormalizedCache

FEED = "query Feed($n: Int!) { feed(first: $n) { id title tags author { id name } } }"
USER = "query User($id: ID!) { user(id: $id) { id name email posts { id title } } }"
ALIASED = "query A($id: ID!) { u: user(id: $id) { id handle: name } }"
USER_FIELDS = "fragment U on User { id name email }"
POST_FIELDS = "fragment P on Post { id title author { id name } }"
TYPES = {"User": USER_FIELDS, "Post": POST_FIELDS}

USER_IDS = ["1", "2", "3"]
POST_IDS = ["p1", "p2", "p3", "p4", "p5"]
words = st.text(alphabet="abé ", max_size=3)

SETTINGS = settings(max_examples=60, deadline=None)


@st.composite
def worlds(draw: st.DrawFn) -> dict:
    users = {u: {"name": draw(words), "email": draw(words)} for u in USER_IDS}
    posts = {p: {"title": draw(words), "tags": draw(st.lists(words, max_size=2)),
                 "author": draw(st.sampled_from(USER_IDS))} for p in POST_IDS}
    return {"users": users, "posts": posts}


def user_obj(world: dict, uid: str, fields: tuple[str, ...] = ("name",)) -> dict:
    obj = {"__typename": "User", "id": uid}
    obj.update({f: world["users"][uid][f] for f in fields})
    return obj


def feed_payload(world: dict, ids: list[str]) -> dict:
    return {"feed": [{"__typename": "Post", "id": p, "title": world["posts"][p]["title"],
                      "tags": list(world["posts"][p]["tags"]),
                      "author": user_obj(world, world["posts"][p]["author"])} for p in ids]}


def user_payload(world: dict, uid: str) -> dict:
    u = user_obj(world, uid, ("name", "email"))
    u["posts"] = [{"__typename": "Post", "id": p, "title": world["posts"][p]["title"]}
                  for p in POST_IDS if world["posts"][p]["author"] == uid]
    return {"user": u}


feeds = st.lists(st.sampled_from(POST_IDS), max_size=6)


@SETTINGS
@given(worlds(), feeds, st.sampled_from(USER_IDS))
def test_write_then_read_returns_the_data_projected_to_the_query(world, ids, uid) -> None:
    cache = NormalizedCache()
    feed = feed_payload(world, ids)
    cache.write_query(FEED, {"n": len(ids)}, copy.deepcopy(feed))
    cache.write_query(USER, {"id": uid}, copy.deepcopy(user_payload(world, uid)))
    assert cache.read_query(FEED, {"n": len(ids)}) == feed
    assert cache.read_query(USER, {"id": uid}) == user_payload(world, uid)
    # a query asking for a subset (and under aliases) gets exactly that subset
    assert cache.read_query(ALIASED, {"id": uid}) == {
        "u": {"__typename": "User", "id": uid, "handle": world["users"][uid]["name"]}}


@SETTINGS
@given(worlds(), st.data())
def test_normalization_is_consistent_across_queries_sharing_entities(world, data) -> None:
    ids = data.draw(feeds)
    uid = data.draw(st.sampled_from(USER_IDS))
    cache = NormalizedCache()
    cache.write_query(FEED, {"n": len(ids)}, feed_payload(world, ids))
    # the server's truth moves on for one user and their posts; another query brings it
    later = copy.deepcopy(world)
    later["users"][uid] = {"name": data.draw(words), "email": data.draw(words)}
    for p in POST_IDS:
        if later["posts"][p]["author"] == uid:
            later["posts"][p]["title"] = data.draw(words)
    cache.write_query(USER, {"id": uid}, user_payload(later, uid))
    # every place the feed shows that user or those posts shows the new values
    assert cache.read_query(FEED, {"n": len(ids)}) == feed_payload(later, ids)
    for p in ids:
        post = cache.read_fragment(POST_FIELDS, f"Post:{p}")
        author = later["posts"][p]["author"]
        assert post == {"__typename": "Post", "id": p, "title": later["posts"][p]["title"],
                        "author": user_obj(later, author)}


changes = st.tuples(
    st.sampled_from(["User", "Post"]),
    st.sampled_from(["1", "2", "p1", "p2"]),
    st.sampled_from(["name", "email", "title", "evict"]),
    words,
)


def apply_change(cache: NormalizedCache, change: tuple) -> None:
    typename, raw_id, field, value = change
    eid = f"{typename}:{raw_id}"
    if field == "evict":
        cache.evict(eid)
        return
    fragment = f"fragment F on {typename} {{ {field} }}"
    cache.write_fragment(fragment, eid, {field: value})


ops = st.lists(st.one_of(
    st.tuples(st.just("base"), st.lists(changes, min_size=1, max_size=3)),
    st.tuples(st.just("add"), st.lists(changes, min_size=1, max_size=3)),
    st.tuples(st.just("remove"), st.integers(0, 5)),
), max_size=8)


@SETTINGS
@given(worlds(), ops)
def test_optimistic_layers_roll_back_exactly(world, sequence) -> None:
    cache = NormalizedCache()
    cache.write_query(FEED, {"n": 5}, feed_payload(world, POST_IDS))
    before = cache.extract(optimistic=True)
    base_changes: list = []
    active: list[tuple[str, list]] = []
    for n, (kind, arg) in enumerate(sequence):
        if kind == "base":
            for change in arg:
                apply_change(cache, change)
            base_changes.extend(arg)
        elif kind == "add":
            cache.record_optimistic(f"L{n}", lambda c, arg=arg: [apply_change(c, x) for x in arg])
            active.append((f"L{n}", arg))
        elif active:
            layer_id, _ = active.pop(arg % len(active))
            assert cache.remove_optimistic(layer_id)
        # the model: base changes in order, then every active layer in order
        model = NormalizedCache()
        model.write_query(FEED, {"n": 5}, feed_payload(world, POST_IDS))
        for change in base_changes:
            apply_change(model, change)
        assert cache.extract(optimistic=False) == model.extract()
        for _, layer_changes in active:
            for change in layer_changes:
                apply_change(model, change)
        assert cache.extract(optimistic=True) == model.extract()
        assert cache.diff(FEED, {"n": 5}) == model.diff(FEED, {"n": 5})
    for layer_id, _ in active:
        cache.remove_optimistic(layer_id)
    if not base_changes:
        assert cache.extract(optimistic=True) == before
    assert cache.optimistic_layers == []


json_scalars = st.recursive(
    st.none() | st.booleans() | st.integers(-10**6, 10**6)
    | st.floats(allow_nan=False, allow_infinity=False) | words,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(words, inner, max_size=3),
    max_leaves=8,
)


@SETTINGS
@given(worlds(), feeds, st.lists(json_scalars, max_size=3), st.data())
def test_sqlite_store_round_trips_arbitrary_caches(tmp_path_factory, world, ids, extras,
                                                   data) -> None:
    from rtlab.graphql import load, save

    cache = NormalizedCache(key_fields={"Box": False})
    cache.write_query(FEED, {"n": len(ids)}, feed_payload(world, ids))
    cache.write_query(USER, {"id": "1"}, user_payload(world, "1"))
    q = "query X($k: String) { box(key: $k) { __typename meta nested { meta } } }"
    for i, extra in enumerate(extras):
        cache.write_query(q, {"k": f"k{i}"}, {"box": {"__typename": "Box", "meta": extra,
                                                      "nested": [{"meta": extra}, None]}})
    if data.draw(st.booleans()):
        cache.evict(f"Post:{data.draw(st.sampled_from(POST_IDS))}")
    path = tmp_path_factory.mktemp("store") / "cache.sqlite"
    assert save(cache, path) == len(cache.ids())
    loaded = load(path, key_fields={"Box": False})
    assert loaded.extract() == cache.extract()
    assert loaded.diff(FEED, {"n": len(ids)}) == cache.diff(FEED, {"n": len(ids)})
    for i in range(len(extras)):
        assert loaded.diff(q, {"k": f"k{i}"}) == cache.diff(q, {"k": f"k{i}"})


watch_ops = st.lists(st.one_of(
    changes.map(lambda c: ("change", c)),
    st.sampled_from(USER_IDS).map(lambda u: ("user", u)),
), min_size=1, max_size=10)


@SETTINGS
@given(worlds(), feeds, watch_ops, st.data())
def test_watchers_fire_exactly_when_a_field_they_read_changes(world, ids, sequence,
                                                              data) -> None:
    cache = NormalizedCache()
    cache.write_query(FEED, {"n": len(ids)}, feed_payload(world, ids))
    cache.write_query(USER, {"id": "1"}, user_payload(world, "1"))
    views = [(FEED, {"n": len(ids)}, None), (USER, {"id": "1"}, None),
             (USER, {"id": "2"}, None), (USER_FIELDS, None, "User:1"),
             (POST_FIELDS, None, "Post:p1")]
    seen: list[list] = [[] for _ in views]
    for (doc, variables, eid), calls in zip(views, seen, strict=True):
        cache.watch(doc, variables, calls.append, id=eid)

    def truth() -> list:
        fresh = NormalizedCache()  # no memo, no history: only what is stored now
        fresh.restore(cache.extract())
        return [fresh.diff_fragment(doc, eid) if eid else fresh.diff(doc, variables)
                for doc, variables, eid in views]

    previous = truth()
    for kind, arg in sequence:
        counts = [len(calls) for calls in seen]
        if kind == "change":
            apply_change(cache, arg)
        else:
            later = copy.deepcopy(world)
            later["users"][arg]["name"] = data.draw(words)
            cache.write_query(USER, {"id": arg}, user_payload(later, arg))
        now = truth()
        for i, calls in enumerate(seen):
            fired = len(calls) - counts[i]
            assert fired == (1 if now[i] != previous[i] else 0), (views[i], kind, arg)
            if fired:
                assert calls[-1] == now[i]
        previous = now

"""``NormalizedCache``: the GraphQL cache the chapter's ``GraphQLCache`` is, and what it lacks.

Pure: no I/O, no clock. Give it documents, variables and data; it gives back
data. Semantics follow Apollo Client's ``InMemoryCache``:

* **Normalized.** Every object with a ``__typename`` and its key fields is stored
  once, as ``"User:1"`` (see :mod:`rtlab.graphql.keys`), and referenced from
  wherever it appeared; documents get ``__typename`` added (:func:`add_typename`).
  So a mutation answering ``{id: "1", name: "Ada"}`` updates *every* view of
  ``User:1``: :meth:`watch` callbacks fire for exactly the queries that read a
  field that changed, and for no other.
* **Arguments in storage keys**, aliases only in results, fragments and inline
  fragments matched on ``__typename`` (``possible_types`` for interfaces and
  unions), per-field ``merge``/``read`` functions and ``key_args`` for
  pagination (see :mod:`rtlab.graphql.pagination`).
* **Partial reads are honest.** :meth:`diff` says which paths are missing; a
  reference to an evicted entity (dangling) reads as missing, never as stale data.
* **Optimistic layers** (:meth:`record_optimistic`, ``optimistic_id=``) sit on
  top of the base store and are removed exactly (:mod:`rtlab.graphql.optimistic`).
* **Fast.** Each (document, variables) is compiled once into a plan
  (:mod:`rtlab.graphql.plan`); reads are memoized per entity
  (:mod:`rtlab.graphql.read`), so a repeat read is a lookup and a read after a
  small change rebuilds only what the change reached.

Results are shared, read-only objects (copy one before changing it); field
``read`` functions must be pure, since their results are memoized. One cache
belongs to one thread (the notebook's event loop): it takes no locks.
"""

from __future__ import annotations

import contextlib
from collections import Counter, deque
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from graphql import DocumentNode, print_ast

from rtlab.graphql.documents import (
    CacheError,
    Document,
    add_typename,
    parse_document,
)
from rtlab.graphql.keys import (
    DELETE,
    MISSING,
    ROOTS,
    KeyFields,
    compound_id,
    field_name_of,
    from_json,
    refs_in,
    stable_json,
    storage_key,
    to_json,
)
from rtlab.graphql.normalize import normalize
from rtlab.graphql.optimistic import Layer, layered_get, layered_ids
from rtlab.graphql.plan import (
    KEY_FIELDS,
    KEY_FN,
    KEY_ID,
    Plan,
    Policies,
    compile_fragment,
    compile_operation,
)
from rtlab.graphql.read import Memos, Reader, invalidate

ChangeSet = dict[str, "set[str] | None"]  # entity id -> changed storage keys (None: all of it)
MAX_PLANS = 1000


@dataclass(frozen=True)
class ReadResult:
    """What the cache holds for a query: ``data`` (partial when not ``complete``) and
    the ``missing`` paths (``"user.posts[3].title"``). ``data`` is None when the
    root entity itself is absent. Shared and read-only: copy before changing it."""

    data: dict[str, Any] | None
    complete: bool
    missing: tuple[str, ...] = ()


@dataclass(frozen=True)
class WriteReport:
    """What a write did: the entity ids whose stored fields changed, and notes about
    what could not be normalized (kept inline) or was missing from the data."""

    changed: frozenset[str]
    notes: tuple[str, ...] = ()


class Watch:
    """A live query: calls ``callback(ReadResult)`` whenever its result changes.

    Call it (or :meth:`cancel`) to stop. ``result`` is the last result seen.
    """

    __slots__ = ("cache", "plan", "root_id", "callback", "entry", "result", "active")

    def __init__(self, cache: NormalizedCache, plan: Plan, root_id: str,
                 callback: Callable[[ReadResult], Any]) -> None:
        self.cache = cache
        self.plan = plan
        self.root_id = root_id
        self.callback = callback
        self.entry: list | None = None
        self.result: ReadResult | None = None
        self.active = True

    def cancel(self) -> None:
        if self.active:
            self.active = False
            self.cache._watches.remove(self)

    __call__ = cancel


_NO_RESULT = ReadResult(None, False, ())


class NormalizedCache:
    """A normalized, memoized GraphQL cache with watchers and optimistic layers.

    ``key_fields``: ``{"Message": ["roomId", "id"], "PageInfo": False}``;
    ``type_policies``: ``{"User": {"fields": {"posts": {"key_args": [], "merge": fn}}}}``
    (``"key_fields"`` may go there too); ``possible_types``:
    ``{"Node": ["User", "Post"]}``. ``typename=False`` stops adding ``__typename``
    to documents (then data must carry it for objects to be normalized).
    """

    def __init__(
        self,
        *,
        key_fields: Mapping[str, KeyFields] | None = None,
        type_policies: Mapping[str, Mapping[str, Any]] | None = None,
        possible_types: Mapping[str, Iterable[str]] | None = None,
        typename: bool = True,
    ) -> None:
        self.policies = Policies(key_fields, type_policies, possible_types)
        self.add_typename = typename
        self._base: dict[str, dict[str, Any]] = {}
        self._layers: list[Layer] = []
        self._target: Layer | None = None  # the layer being written by record_optimistic
        self._memos: Memos = {}
        self._pending: dict[str, set] = {}
        self._reader = Reader(self._base.get, self._memos, self._pending)
        self._plans: dict[tuple, tuple[Plan, Any]] = {}
        self._doc_keys: dict[int, tuple[str, DocumentNode]] = {}  # id -> (text, the document)
        self._watches: list[Watch] = []
        self._listeners: list[Callable[[frozenset[str]], Any]] = []
        self._retained: Counter[str] = Counter()
        self._batch_depth = 0
        self._batch_changed: set[str] = set()
        self.notes: deque[str] = deque(maxlen=100)  # recent write notes, newest last
        self.version = 0  # bumped by every change: cheap "did anything change?" checks

    # -- plans ------------------------------------------------------------------------------
    def _plan(self, kind: str, document: Document, variables: Mapping[str, Any] | None,
              name: str | None) -> Plan:
        if variables:
            try:
                vkey = stable_json(variables)
            except (TypeError, ValueError):
                vkey = repr(sorted(variables.items()))
        else:
            vkey = ""
        if isinstance(document, str):
            dkey = document
        else:  # equal documents share one plan (and its memos), whichever object they are
            known = self._doc_keys.get(id(document))
            if known is None or known[1] is not document:
                if len(self._doc_keys) >= MAX_PLANS:
                    self._doc_keys.clear()
                known = self._doc_keys[id(document)] = (print_ast(document), document)
            dkey = known[0]
        key = (kind, dkey, name, vkey)
        hit = self._plans.get(key)
        if hit is not None:
            return hit[0]
        doc = parse_document(document)
        if self.add_typename:
            doc = add_typename(doc)
        if kind == "fragment":
            plan = compile_fragment(doc, self.policies, variables, name)
        else:
            plan = compile_operation(doc, self.policies, variables, name)
        if len(self._plans) >= MAX_PLANS:
            self._forget(next(iter(self._plans)))
        self._plans[key] = (plan, document)
        return plan

    def _forget(self, key: tuple) -> None:
        plan, _ = self._plans.pop(key)
        stack = [plan.sel]
        while stack:
            sel = stack.pop()
            self._memos.pop(sel, None)
            stack.extend(sel.children.values())

    def plan(self, document: Document, variables: Mapping[str, Any] | None = None, *,
             operation_name: str | None = None) -> Plan:
        """The compiled plan of an operation (raises :class:`VariableError` on a mismatch)."""
        return self._plan("op", document, variables, operation_name)

    def transform(self, document: Document) -> DocumentNode:
        """The document as this cache sends it: with ``__typename`` added, when enabled."""
        doc = parse_document(document)
        return add_typename(doc) if self.add_typename else doc

    # -- reads ------------------------------------------------------------------------------
    def _read(self, plan: Plan, root_id: str, optimistic: bool) -> tuple[ReadResult, list | None]:
        reader = self._reader
        if not optimistic and self._layers:
            reader = Reader(self._base.get, {}, {})
        entry = reader.root(plan.sel, root_id, None if plan.kind == "fragment" else plan.typename)
        if entry is None:
            return ReadResult(None, False, (root_id,)), None
        missing = entry[1]
        if missing:
            return ReadResult(entry[0], False, missing), entry
        return ReadResult(entry[0], True, ()), entry

    def diff(self, document: Document, variables: Mapping[str, Any] | None = None, *,
             operation_name: str | None = None, optimistic: bool = True) -> ReadResult:
        """What the cache holds for a query, complete or not, and what is missing."""
        plan = self._plan("op", document, variables, operation_name)
        return self._read(plan, plan.root_id, optimistic)[0]  # type: ignore[arg-type]

    def read_query(self, document: Document, variables: Mapping[str, Any] | None = None, *,
                   operation_name: str | None = None, optimistic: bool = True,
                   partial: bool = False) -> dict[str, Any] | None:
        """The query's data from the cache; None when incomplete (unless ``partial``)."""
        result = self.diff(document, variables, operation_name=operation_name,
                           optimistic=optimistic)
        return result.data if result.complete or partial else None

    def diff_fragment(self, document: Document, id: str, *, fragment_name: str | None = None,
                      variables: Mapping[str, Any] | None = None,
                      optimistic: bool = True) -> ReadResult:
        plan = self._plan("fragment", document, variables, fragment_name)
        return self._read(plan, id, optimistic)[0]

    def read_fragment(self, document: Document, id: str, *, fragment_name: str | None = None,
                      variables: Mapping[str, Any] | None = None, optimistic: bool = True,
                      partial: bool = False) -> dict[str, Any] | None:
        """One entity's fields through a fragment; None for an unknown id or incomplete data."""
        result = self.diff_fragment(document, id, fragment_name=fragment_name,
                                    variables=variables, optimistic=optimistic)
        return result.data if result.complete or partial else None

    # -- writes -----------------------------------------------------------------------------
    def write_query(self, document: Document, variables: Mapping[str, Any] | None = None,
                    data: Mapping[str, Any] | None = None, *, operation_name: str | None = None,
                    optimistic_id: str | None = None) -> WriteReport:
        """Store a query's (or mutation's, or subscription event's) result, normalized."""
        if data is None:
            raise TypeError("write_query needs data (the result's 'data' object)")
        plan = self._plan("op", document, variables, operation_name)
        if optimistic_id is not None:
            return self._in_layer(optimistic_id, lambda c: c._write(plan, plan.root_id, data))
        return self._write(plan, plan.root_id, data)  # type: ignore[arg-type]

    def write_fragment(self, document: Document, id: str, data: Mapping[str, Any], *,
                       fragment_name: str | None = None,
                       variables: Mapping[str, Any] | None = None,
                       optimistic_id: str | None = None) -> WriteReport:
        """Store fields of entity ``id`` through a fragment (the id need not be in ``data``)."""
        plan = self._plan("fragment", document, variables, fragment_name)
        if optimistic_id is not None:
            return self._in_layer(optimistic_id, lambda c: c._write(plan, id, data))
        return self._write(plan, id, data)

    def _write(self, plan: Plan, root_id: str, data: Mapping[str, Any]) -> WriteReport:
        typename = plan.typename
        if plan.kind == "fragment":
            current = self._get(root_id)
            stored = current.get("__typename") if current else None
            typename = stored or typename
        result = normalize(plan, data, root_id, typename)
        changed = self._apply(result.entities, result.merges)
        if result.notes:
            self.notes.extend(result.notes)
        self._commit(changed)
        return WriteReport(frozenset(changed), tuple(result.notes))

    def _apply(self, incoming: dict[str, dict[str, Any]], merges: Mapping,
               deletes: bool = False) -> ChangeSet:
        layer = self._target
        get = self._get if layer is not None else self._base.get  # what this write sits on
        for (eid, skey), hook in merges.items():
            current = get(eid)
            existing = current.get(skey) if current is not None else None
            incoming[eid][skey] = hook.merge(existing, incoming[eid][skey], hook.args)
        changed: ChangeSet = {}
        if layer is None:
            base = self._base
            for eid, inc in incoming.items():
                cur = base.get(eid)
                if cur is None:
                    if deletes:
                        inc = {k: v for k, v in inc.items() if v is not DELETE}
                    base[eid] = inc
                    changed[eid] = None
                    continue
                keys = None
                for k, v in inc.items():
                    if v is DELETE:
                        if k not in cur:
                            continue
                        del cur[k]
                    else:
                        old = cur.get(k, MISSING)
                        if old is v or old == v:
                            continue
                        cur[k] = v
                    if keys is None:
                        keys = set()
                    keys.add(k)
                if keys:
                    changed[eid] = keys
            return changed
        for eid, inc in incoming.items():
            cur = get(eid)
            if cur is None:
                # hide what is below only if something below was evicted; else later base
                # writes of other fields show through, as if the layer were written after them
                hidden = eid in self._base or any(eid in lay.data for lay in self._layers)
                layer.data[eid] = (hidden, {k: v for k, v in inc.items() if v is not DELETE})
                changed[eid] = None
                continue
            replace, overrides = layer.data.get(eid, (False, {}))
            keys = set()
            for k, v in inc.items():
                # A layer pins every field it writes, changed or not, so a later base
                # write cannot show through what the mutation said (as Apollo's layers do).
                if v is DELETE:
                    if k in cur:
                        keys.add(k)
                elif cur.get(k, MISSING) != v:
                    keys.add(k)
                overrides[k] = v
            layer.data[eid] = (replace, overrides)
            if keys:
                changed[eid] = keys
        return changed

    def _get(self, eid: str) -> dict[str, Any] | None:
        if self._layers:
            return layered_get(self._base, self._layers, eid)
        return self._base.get(eid)

    def _commit(self, changed: ChangeSet) -> None:
        if not changed:
            return
        self.version += 1
        memos = self._memos
        pending = self._pending
        # nothing read yet (a fresh cache being filled): nothing to invalidate
        for eid, keys in changed.items() if memos or pending else ():
            owners = pending.pop(eid, None)
            if owners:
                for sel, owner_id in owners:
                    invalidate(memos, sel, owner_id)
            for sel, memo in memos.items():
                if eid in memo and (keys is None or not sel.reads.isdisjoint(keys)):
                    invalidate(memos, sel, eid)
        if self._batch_depth:
            self._batch_changed.update(changed)
            return
        self._announce(changed)

    def _announce(self, changed: Iterable[str]) -> None:
        if self._listeners:
            ids = frozenset(changed)
            for fn in list(self._listeners):
                fn(ids)
        for w in list(self._watches):
            if not w.active:
                continue
            memo = self._memos.get(w.plan.sel)
            if w.entry is not None and memo is not None and memo.get(w.root_id) is w.entry:
                continue  # nothing it read has changed
            result, w.entry = self._read(w.plan, w.root_id, True)
            if result != w.result:
                w.result = result
                w.callback(result)

    @contextlib.contextmanager
    def batch(self) -> Iterator[NormalizedCache]:
        """Several writes, one round of watcher callbacks at the end."""
        self._batch_depth += 1
        try:
            yield self
        finally:
            self._batch_depth -= 1
            if not self._batch_depth and self._batch_changed:
                changed, self._batch_changed = self._batch_changed, set()
                self._announce(changed)

    # -- identity, eviction, modify, gc -------------------------------------------------------
    def identify(self, obj: Mapping[str, Any] | str) -> str | None:
        """The entity id of a result object (``"User:1"``), or None if it has none."""
        if isinstance(obj, str):
            return str(obj)
        tn = obj.get("__typename")
        mode, arg = self.policies.key_mode(tn)
        if mode == KEY_ID:
            value = obj.get("id")
            return None if value is None else f"{tn}:{value}"
        if mode == KEY_FIELDS:
            return compound_id(tn, obj, arg)  # type: ignore[arg-type]
        if mode == KEY_FN:
            return arg(obj)
        return None

    def evict(self, id: str, field: str | None = None, *,
              args: Mapping[str, Any] | None = None) -> bool:
        """Remove an entity, or one field of it (all its argument variants, or the one
        ``args`` names). References to an evicted entity then read as missing."""
        current = self._base.get(id) if self._target is None else self._get(id)
        if current is None:
            if field is None and self._target is not None:
                self._target.data[id] = (True, {})  # a layer pins the eviction regardless
            return False
        if field is None:
            if self._target is not None:
                self._target.data[id] = (True, {})
            else:
                del self._base[id]
            self._commit({id: None})
            return True
        if args is not None:
            keys = [storage_key(field, args)] if storage_key(field, args) in current else []
        else:
            keys = [k for k in current if field_name_of(k) == field]
        if not keys:
            return False
        self._commit(self._apply({id: dict.fromkeys(keys, DELETE)}, {}, deletes=True))
        return True

    def modify(self, id: str, fields: Mapping[str, Callable[[Any], Any]]) -> bool:
        """Change stored fields in place: ``{"posts": lambda refs: [new_ref, *refs]}``.

        Each function gets the stored value (references as :class:`Ref`) of every
        storage key of that field name and returns the new one, or ``DELETE``.
        """
        current = self._base.get(id) if self._target is None else self._get(id)
        if current is None:
            return False
        updates = {}
        for key, value in current.items():
            fn = fields.get(field_name_of(key))
            if fn is not None:
                updates[key] = fn(value)
        changed = self._apply({id: updates}, {}, deletes=True)
        self._commit(changed)
        return bool(changed)

    def retain(self, id: str) -> None:
        """Keep ``id`` through :meth:`gc` even when nothing references it."""
        self._retained[id] += 1

    def release(self, id: str) -> None:
        if self._retained[id] <= 1:
            self._retained.pop(id, None)
        else:
            self._retained[id] -= 1

    def gc(self) -> list[str]:
        """Drop every entity no root (and no retained id, no optimistic layer) reaches."""
        reachable: set[str] = set()
        stack = [*ROOTS, *self._retained]
        for layer in self._layers:
            for _replace, overrides in layer.data.values():
                stack.extend(refs_in(list(overrides.values())))
        while stack:
            eid = stack.pop()
            if eid in reachable:
                continue
            reachable.add(eid)
            fields = self._base.get(eid)
            if fields is not None:
                stack.extend(refs_in(list(fields.values())))
            for layer in self._layers:
                change = layer.data.get(eid)
                if change is not None:
                    stack.extend(refs_in(list(change[1].values())))
        removed = [eid for eid in self._base if eid not in reachable]
        for eid in removed:
            del self._base[eid]
        self._commit(dict.fromkeys(removed))
        return removed

    # -- optimistic layers ---------------------------------------------------------------------
    def record_optimistic(self, layer_id: str, fn: Callable[[NormalizedCache], Any]) -> None:
        """Run ``fn(cache)``; every write it makes goes to a new layer named ``layer_id``."""
        self._in_layer(layer_id, fn)

    def _in_layer(self, layer_id: str, fn: Callable[[NormalizedCache], Any]) -> Any:
        if self._target is not None:
            raise CacheError("record_optimistic cannot be nested")
        layer = Layer(layer_id, fn)
        self._layers.append(layer)
        self._reader.get = self._get
        with self.batch():
            try:
                return self._run(layer)
            except BaseException:
                self._layers.remove(layer)
                self._reader.get = self._get if self._layers else self._base.get
                self._commit(dict.fromkeys(layer.data))
                raise

    def _run(self, layer: Layer) -> Any:
        self._target = layer
        try:
            return layer.fn(self)
        finally:
            self._target = None

    def remove_optimistic(self, layer_id: str) -> bool:
        """Remove every layer named ``layer_id``; the layers above are rebuilt on what remains."""
        index = next((i for i, lay in enumerate(self._layers) if lay.id == layer_id), None)
        if index is None:
            return False
        touched: set[str] = set()
        for layer in self._layers[index:]:
            touched.update(layer.data)
        above = [lay for lay in self._layers[index + 1:] if lay.id != layer_id]
        del self._layers[index:]
        self._reader.get = self._get if self._layers or above else self._base.get
        with self.batch():
            self._commit(dict.fromkeys(touched))
            for layer in above:
                layer.data = {}
                self._layers.append(layer)
                self._run(layer)
            if not self._layers:
                self._reader.get = self._base.get
        return True

    @property
    def optimistic_layers(self) -> list[str]:
        return [layer.id for layer in self._layers]

    # -- watchers and listeners -------------------------------------------------------------
    def watch(self, document: Document, variables: Mapping[str, Any] | None = None,
              callback: Callable[[ReadResult], Any] | None = None, *,
              operation_name: str | None = None, id: str | None = None,
              fragment_name: str | None = None) -> Watch:
        """Call ``callback(ReadResult)`` each time the query's result changes (not now).

        With ``id``, ``document`` is a fragment read on that entity. Returns a
        :class:`Watch`; call it to unsubscribe. ``watch.result`` is the current result.
        """
        if callback is None:
            raise TypeError("watch needs a callback")
        if id is not None:
            plan = self._plan("fragment", document, variables, fragment_name)
            root_id = id
        else:
            plan = self._plan("op", document, variables, operation_name)
            root_id = plan.root_id  # type: ignore[assignment]
        w = Watch(self, plan, root_id, callback)
        w.result, w.entry = self._read(plan, root_id, True)
        self._watches.append(w)
        return w

    def on_change(self, fn: Callable[[frozenset[str]], Any]) -> Callable[[], None]:
        """Call ``fn(changed ids)`` after every change; returns the function that stops it."""
        self._listeners.append(fn)

        def stop() -> None:
            if fn in self._listeners:
                self._listeners.remove(fn)

        return stop

    # -- inspection and snapshots -------------------------------------------------------------
    def __contains__(self, id: object) -> bool:
        return isinstance(id, str) and self._get(id) is not None

    def __len__(self) -> int:
        return len(self.ids())

    def ids(self, optimistic: bool = True) -> list[str]:
        if optimistic and self._layers:
            return layered_ids(self._base, self._layers)
        return list(self._base)

    def get(self, id: str, optimistic: bool = True) -> dict[str, Any] | None:
        """A copy of the stored fields of ``id`` (references as ``{"__ref": id}``)."""
        fields = self._get(id) if optimistic else self._base.get(id)
        return None if fields is None else to_json(fields)

    def extract(self, optimistic: bool = False) -> dict[str, dict[str, Any]]:
        """The store as plain JSON (``{"__ref": id}`` for references), e.g. to persist."""
        return {eid: self.get(eid, optimistic) for eid in self.ids(optimistic)}  # type: ignore

    def restore(self, snapshot: Mapping[str, Mapping[str, Any]]) -> None:
        """Replace the base store with an :meth:`extract` snapshot."""
        old = set(self._base)
        self._base.clear()
        for eid, fields in snapshot.items():
            if not isinstance(fields, Mapping):
                raise CacheError(f"snapshot entry {eid!r} is not an object of fields")
            self._base[eid] = from_json(dict(fields))
        self._memos.clear()
        self._pending.clear()
        self._commit(dict.fromkeys(old | set(self._base)))

    def reset(self) -> None:
        """Forget everything (base and layers), as on logout; watchers see the empty cache."""
        old = set(self.ids())
        self._base.clear()
        self._layers.clear()
        self._reader.get = self._base.get
        self._commit(dict.fromkeys(old))

    def __repr__(self) -> str:
        return (f"<NormalizedCache {len(self._base)} entities, {len(self._layers)} optimistic "
                f"layers, {len(self._watches)} watches>")


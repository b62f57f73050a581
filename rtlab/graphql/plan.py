"""Compiled plans: a (document, variables) pair turned once into what reads and writes walk.

Compiling resolves, ahead of time, everything that does not depend on the data:
fragments and inline fragments are flattened, ``@skip``/``@include`` decided,
aliases paired with storage keys (arguments resolved from the variables, filtered
by a field policy's ``key_args``), and merge/read functions looked up. What does
depend on the data — which type conditions an object matches — is decided once
per ``__typename`` and remembered in :meth:`Sel.shape`. A write or read then
walks tuples: no AST, no per-field dispatch on node kinds.

:class:`Policies` is the cache's configuration: key fields per type, field
policies (``key_args``, ``merge``, ``read``), and ``possible_types`` so a fragment
``on Node`` matches a ``User``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from operator import itemgetter
from typing import Any

from graphql import (
    DocumentNode,
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    InlineFragmentNode,
    OperationType,
    SelectionSetNode,
)
from graphql.pyutils import Undefined
from graphql.utilities import value_from_ast_untyped

from rtlab.graphql.documents import (
    DocumentError,
    checked_variables,
    fragment_of,
    fragments_of,
    operation_of,
    strip_undefined,
)
from rtlab.graphql.keys import (
    ROOT_MUTATION,
    ROOT_QUERY,
    ROOT_SUBSCRIPTION,
    KeyFields,
    storage_key,
)

Merge = Callable[[Any, Any, Mapping[str, Any]], Any]  # (existing or None, incoming, args) -> new
Read = Callable[[Any, Mapping[str, Any]], Any]  # (stored value or MISSING, args) -> value

ROOT_TYPES = {
    OperationType.QUERY: ("Query", ROOT_QUERY),
    OperationType.MUTATION: ("Mutation", ROOT_MUTATION),
    OperationType.SUBSCRIPTION: ("Subscription", ROOT_SUBSCRIPTION),
}

# how an object of a type gets its entity id
KEY_NONE = 0  # no __typename: cannot be normalized
KEY_ID = 1  # the default: "<typename>:<id>"
KEY_FIELDS = 2  # several (or other) key fields
KEY_FN = 3  # a function of the object
KEY_INLINE = 4  # key_fields=False: deliberately kept inline
KEY_ROOT = 5  # a root type: the id is given


@dataclass(frozen=True)
class FieldPolicy:
    """How one field of one type is stored and read.

    ``key_args``: which arguments name the stored value (None: all; ``()``: none, so
    ``posts(offset: 0)`` and ``posts(offset: 10)`` share one list). ``merge`` combines
    the stored value with an incoming one (both in stored form: lists of
    :class:`~rtlab.graphql.keys.Ref`); ``read`` turns the stored value into the
    value a query sees (e.g. the page its ``offset``/``limit`` ask for).
    """

    key_args: tuple[str, ...] | None = None
    merge: Merge | None = None
    read: Read | None = None


class Policies:
    """Key fields, field policies and possible types, checked once at construction."""

    def __init__(
        self,
        key_fields: Mapping[str, KeyFields] | None = None,
        type_policies: Mapping[str, Mapping[str, Any]] | None = None,
        possible_types: Mapping[str, Iterable[str]] | None = None,
    ) -> None:
        self.key_fields: dict[str, KeyFields] = {}
        self.fields: dict[tuple[str, str], FieldPolicy] = {}
        for typename, kf in (key_fields or {}).items():
            self.key_fields[typename] = _check_key_fields(typename, kf)
        for typename, tp in (type_policies or {}).items():
            unknown = set(tp) - {"key_fields", "fields"}
            if unknown:
                raise ValueError(f"type policy for {typename}: unknown keys {sorted(unknown)}")
            if "key_fields" in tp:
                self.key_fields[typename] = _check_key_fields(typename, tp["key_fields"])
            for fname, fp in (tp.get("fields") or {}).items():
                self.fields[(typename, fname)] = _field_policy(typename, fname, fp)
        self.policy_field_names = {name for _, name in self.fields}
        self.possible = {k: frozenset(v) for k, v in (possible_types or {}).items()}

    def matches(self, condition: str, typename: str | None) -> bool:
        """Does an object of ``typename`` match a fragment ``on condition``?"""
        if typename is None or condition == typename:
            return True  # no __typename to decide with: be lenient, as Apollo is
        sub = self.possible.get(condition)
        return sub is not None and typename in sub

    def key_mode(self, typename: str | None) -> tuple[int, Any]:
        if typename is None:
            return KEY_NONE, None
        kf = self.key_fields.get(typename, ("id",))
        if kf is False:
            return KEY_INLINE, None
        if callable(kf):
            return KEY_FN, kf
        kf = tuple(kf)  # type: ignore[arg-type]
        return (KEY_ID, kf) if kf == ("id",) else (KEY_FIELDS, kf)


def _check_key_fields(typename: str, kf: Any) -> KeyFields:
    if kf is False or callable(kf):
        return kf
    if isinstance(kf, (list, tuple)) and kf and all(isinstance(k, str) for k in kf):
        return tuple(kf)
    raise ValueError(
        f"key_fields for {typename} must be a non-empty list of field names, a function "
        f"or False, not {kf!r}"
    )


def _field_policy(typename: str, fname: str, fp: Any) -> FieldPolicy:
    if isinstance(fp, FieldPolicy):
        return fp
    if not isinstance(fp, Mapping):
        raise ValueError(f"field policy {typename}.{fname} must be a dict or FieldPolicy")
    unknown = set(fp) - {"key_args", "merge", "read"}
    if unknown:
        raise ValueError(f"field policy {typename}.{fname}: unknown keys {sorted(unknown)}")
    ka = fp.get("key_args")
    if ka is False:
        ka = ()
    return FieldPolicy(
        key_args=None if ka is None else tuple(ka), merge=fp.get("merge"), read=fp.get("read")
    )


class Hook:
    """A field with a merge or read function, bound to the field's resolved arguments."""

    __slots__ = ("merge", "read", "args", "name")

    def __init__(self, policy: FieldPolicy, args: dict[str, Any], name: str) -> None:
        self.merge = policy.merge
        self.read = policy.read
        self.args = args
        self.name = name


def _getter(keys: tuple[str, ...]) -> Callable[[Mapping[str, Any]], tuple]:
    """``itemgetter`` that always returns a tuple (raises KeyError when a key is absent)."""
    if len(keys) > 1:
        return itemgetter(*keys)
    if len(keys) == 1:
        key = keys[0]
        return lambda obj: (obj[key],)
    return lambda obj: ()


class Shape:
    """What a selection set asks of an object of one ``__typename``.

    ``fields`` is a tuple of ``(response_key, storage_key, child Sel or None, Hook or None)``.
    When no field has a hook (``fast``), reads and writes take every value at once
    with ``rget``/``sget`` (C-level ``itemgetter``) and then fix up the ``objects``
    — ``(index, response_key, storage_key, child)`` — one by one; a KeyError (a
    field absent) sends them to the field-by-field path, which also records notes.
    """

    __slots__ = ("typename", "fields", "key_mode", "key_arg", "key_rkeys", "fast", "rkeys",
                 "skeys", "rget", "sget", "objects")

    def __init__(self, typename: str | None, fields: tuple, key_mode: int, key_arg: Any,
                 key_rkeys: tuple[str, ...]) -> None:
        self.typename = typename
        self.fields = fields
        self.key_mode = key_mode
        self.key_arg = key_arg
        self.key_rkeys = key_rkeys
        self.fast = all(f[3] is None for f in fields)
        self.rkeys = tuple(f[0] for f in fields)
        self.skeys = tuple(f[1] for f in fields)
        self.rget = _getter(self.rkeys)
        self.sget = _getter(self.skeys)
        self.objects = tuple((i, f[0], f[1], f[2]) for i, f in enumerate(fields)
                             if f[2] is not None)


@dataclass
class _Context:
    policies: Policies
    variables: dict[str, Any]
    fragments: dict[str, FragmentDefinitionNode]
    root_typename: str | None = None
    args_cache: dict[int, dict[str, Any]] = field(default_factory=dict)


def _included(node: Any, variables: Mapping[str, Any]) -> bool:
    for d in node.directives or ():
        name = d.name.value
        if name in ("skip", "include"):
            value = False
            for a in d.arguments or ():
                if a.name.value == "if":
                    value = bool(value_from_ast_untyped(a.value, variables))
            if (name == "skip") == value:
                return False
    return True


def _collect(sset: SelectionSetNode, conds: tuple[str, ...], ctx: _Context,
             out: list[tuple[tuple[str, ...], FieldNode]], active: tuple[str, ...]) -> None:
    for s in sset.selections:
        if not _included(s, ctx.variables):
            continue
        if isinstance(s, FieldNode):
            out.append((conds, s))
        elif isinstance(s, InlineFragmentNode):
            c = conds + (s.type_condition.name.value,) if s.type_condition else conds
            _collect(s.selection_set, c, ctx, out, active)
        elif isinstance(s, FragmentSpreadNode):
            name = s.name.value
            frag = ctx.fragments.get(name)
            if frag is None:
                raise DocumentError(f"fragment ...{name} is used but not defined in the document")
            if name in active:
                raise DocumentError(f"fragment {name} spreads itself")
            _collect(frag.selection_set, conds + (frag.type_condition.name.value,), ctx, out,
                     active + (name,))


class Sel:
    """A selection set, flattened; its per-``__typename`` :class:`Shape` is built on first use."""

    __slots__ = ("entries", "ctx", "shapes", "children", "reads", "__weakref__")

    def __init__(self, entries: list[tuple[tuple[str, ...], FieldNode]], ctx: _Context) -> None:
        self.entries = entries
        self.ctx = ctx
        self.shapes: dict[str | None, Shape] = {}
        self.children: dict[tuple[int, ...], Sel] = {}
        self.reads: set[str] = set()  # every storage key any shape reads: for invalidation

    def shape(self, typename: str | None) -> Shape:
        found = self.shapes.get(typename)
        if found is not None:
            return found
        ctx = self.ctx
        policies = ctx.policies
        groups: dict[str, list[FieldNode]] = {}
        for conds, node in self.entries:
            if all(policies.matches(c, typename) for c in conds):
                rkey = node.alias.value if node.alias else node.name.value
                groups.setdefault(rkey, []).append(node)
        fields = []
        for rkey, nodes in groups.items():
            node = nodes[0]
            name = node.name.value
            args = self._args(node)
            policy = (policies.fields.get((typename, name))
                      if typename is not None and name in policies.policy_field_names else None)
            kargs = args
            if policy is not None and policy.key_args is not None:
                kargs = {k: v for k, v in args.items() if k in policy.key_args}
            skey = storage_key(name, kargs)
            child = None
            with_sets = [n for n in nodes if n.selection_set is not None]
            if with_sets:
                ckey = tuple(id(n) for n in with_sets)
                child = self.children.get(ckey)
                if child is None:
                    entries: list[tuple[tuple[str, ...], FieldNode]] = []
                    for n in with_sets:
                        _collect(n.selection_set, (), ctx, entries, ())
                    child = self.children[ckey] = Sel(entries, ctx)
            hook = None
            if policy is not None and (policy.merge or policy.read):
                hook = Hook(policy, args, name)
            fields.append((rkey, skey, child, hook))
            self.reads.add(skey)
        if typename is not None and typename == ctx.root_typename:
            mode, arg = KEY_ROOT, None
        else:
            mode, arg = policies.key_mode(typename)
        rkeys: tuple[str, ...] = ()
        if mode in (KEY_ID, KEY_FIELDS):
            by_name = {}
            for rkey, nodes in groups.items():
                by_name.setdefault(nodes[0].name.value, rkey)
            rkeys = tuple(by_name.get(k, k) for k in arg)
            if mode == KEY_ID and rkeys != ("id",):
                mode = KEY_FIELDS
        shape = Shape(typename, tuple(fields), mode, arg, rkeys)
        self.shapes[typename] = shape
        return shape

    def _args(self, node: FieldNode) -> dict[str, Any]:
        cached = self.ctx.args_cache.get(id(node))
        if cached is not None:
            return cached
        args = {}
        for a in node.arguments or ():
            value = strip_undefined(value_from_ast_untyped(a.value, self.ctx.variables))
            if value is not Undefined:
                args[a.name.value] = value
        self.ctx.args_cache[id(node)] = args
        return args


def _check_spreads(document: DocumentNode, fragments: Mapping[str, Any]) -> None:
    """Every ``...Name`` names a fragment of the document (checked now, not on first read)."""
    stack: list[Any] = [d.selection_set for d in document.definitions
                        if getattr(d, "selection_set", None) is not None]
    while stack:
        sset = stack.pop()
        for s in sset.selections:
            if isinstance(s, FragmentSpreadNode):
                if s.name.value not in fragments:
                    raise DocumentError(
                        f"fragment ...{s.name.value} is used but not defined in the document"
                    )
            elif s.selection_set is not None:
                stack.append(s.selection_set)


@dataclass
class Plan:
    """One compiled (document, variables): its root selection and where it is stored."""

    sel: Sel
    kind: str  # "query" | "mutation" | "subscription" | "fragment"
    root_id: str | None  # None for a fragment: the caller names the entity
    typename: str | None  # the root type, or the fragment's type condition
    variables: dict[str, Any]
    name: str | None
    document: DocumentNode


def compile_operation(document: DocumentNode, policies: Policies,
                      variables: Mapping[str, Any] | None,
                      operation_name: str | None = None) -> Plan:
    op = operation_of(document, operation_name)
    resolved = checked_variables(document, op, variables)
    typename, root_id = ROOT_TYPES[op.operation]
    ctx = _Context(policies, resolved, fragments_of(document), root_typename=typename)
    _check_spreads(document, ctx.fragments)
    entries: list[tuple[tuple[str, ...], FieldNode]] = []
    _collect(op.selection_set, (), ctx, entries, ())
    return Plan(Sel(entries, ctx), op.operation.value, root_id, typename, resolved,
                op.name.value if op.name else None, document)


def compile_fragment(document: DocumentNode, policies: Policies,
                     variables: Mapping[str, Any] | None,
                     fragment_name: str | None = None) -> Plan:
    frag = fragment_of(document, fragment_name)
    resolved = dict(variables or {})
    ctx = _Context(policies, resolved, fragments_of(document))
    _check_spreads(document, ctx.fragments)
    entries: list[tuple[tuple[str, ...], FieldNode]] = []
    _collect(SelectionSetNode(selections=(FragmentSpreadNode(name=frag.name),)), (), ctx,
             entries, ())
    return Plan(Sel(entries, ctx), "fragment", None, frag.type_condition.name.value, resolved,
                frag.name.value, document)

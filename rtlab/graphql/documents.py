"""GraphQL documents as the cache sees them: parsed once, ``__typename`` added, variables checked.

The chapter's pagination passes ``{'limit': 10, 'offset': 10}`` to ``fetchMore`` for a
query that declares only ``$userId`` and hard-codes ``posts(limit: 10)``: the server
ignores variables a document does not declare, so "page 2" is page 1 again, and
nothing says so. :func:`checked_variables` refuses that with an error naming the
variable, and also refuses the opposite mistake (using ``$offset`` without declaring
it, which a server rejects only after a round trip). A misspelt variable
(``{"ID": "1"}`` for ``$id``) gets "``$id`` is missing — did you mean ``id``?", not
advice to declare the typo.

A server's errors point into the text it received, a re-formatted copy of the
student's document (``__typename`` added, printed again); :func:`source_locations`
moves their line and column back into the text the student wrote.
"""

from __future__ import annotations

import dataclasses
import difflib
from collections.abc import Mapping, Sequence
from functools import lru_cache
from typing import Any

from graphql import (
    DocumentNode,
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLError,
    InlineFragmentNode,
    NameNode,
    Node,
    NonNullTypeNode,
    OperationDefinitionNode,
    SelectionSetNode,
    VariableNode,
    get_location,
    parse,
    print_ast,
)
from graphql.pyutils import Undefined
from graphql.utilities import value_from_ast_untyped

from rtlab.errors import RtlabError

Document = str | DocumentNode


class CacheError(RtlabError):
    """Base class of the cache's errors."""


class DocumentError(CacheError, ValueError):
    """The document cannot be used as asked (no operation, unknown fragment, a syntax error)."""


class VariableError(CacheError, ValueError):
    """Variables and the operation's declarations disagree; the message names the variable."""


@lru_cache(maxsize=512)
def _parse_text(text: str) -> DocumentNode:
    try:
        return parse(text)
    except GraphQLError as exc:
        raise DocumentError(f"not a GraphQL document: {exc.message}") from exc


def parse_document(document: Document) -> DocumentNode:
    """A parsed document; strings are parsed once and remembered."""
    if isinstance(document, DocumentNode):
        return document
    if isinstance(document, str):
        return _parse_text(document)
    raise DocumentError(f"expected a GraphQL document or its text, got {type(document).__name__}")


_TYPENAME = FieldNode(name=NameNode(value="__typename"))


def _with_typename(sset: SelectionSetNode, add_here: bool) -> SelectionSetNode:
    selections = []
    has = False
    for sel in sset.selections:
        if isinstance(sel, FieldNode):
            if sel.name.value == "__typename" and sel.alias is None:
                has = True
            if sel.selection_set is not None and not sel.name.value.startswith("__"):
                inner = _with_typename(sel.selection_set, True)
                sel = dataclasses.replace(sel, selection_set=inner)
        elif isinstance(sel, InlineFragmentNode):
            sel = dataclasses.replace(sel, selection_set=_with_typename(sel.selection_set, False))
        selections.append(sel)
    if add_here and not has:
        selections.append(_TYPENAME)
    return dataclasses.replace(sset, selections=tuple(selections))


@lru_cache(maxsize=512)
def _add_typename_cached(document: DocumentNode) -> DocumentNode:
    definitions = []
    for d in document.definitions:
        if isinstance(d, OperationDefinitionNode):
            # The operation's root selection set gets none: Query.__typename is noise.
            d = dataclasses.replace(d, selection_set=_with_typename(d.selection_set, False))
        elif isinstance(d, FragmentDefinitionNode):
            d = dataclasses.replace(d, selection_set=_with_typename(d.selection_set, True))
        definitions.append(d)
    return dataclasses.replace(document, definitions=tuple(definitions))


def add_typename(document: Document) -> DocumentNode:
    """The document with ``__typename`` in every selection set below the operation's root.

    A normalized cache keys entities on ``__typename``, so every object it is given
    must carry one; this is what Apollo's ``addTypename`` does to every document
    before it goes on the wire. Idempotent.
    """
    return _add_typename_cached(parse_document(document))


def operation_of(document: DocumentNode, name: str | None = None) -> OperationDefinitionNode:
    """The operation to run: the only one, or the one called ``name``."""
    ops = [d for d in document.definitions if isinstance(d, OperationDefinitionNode)]
    if name is not None:
        for op in ops:
            if op.name is not None and op.name.value == name:
                return op
        known = ", ".join(op.name.value for op in ops if op.name) or "none"
        raise DocumentError(f"no operation named {name!r} in the document (operations: {known})")
    if not ops:
        raise DocumentError(
            "the document has no operation (only fragments?): use read_fragment/write_fragment"
        )
    if len(ops) > 1:
        raise DocumentError("the document has several operations: pass operation_name")
    return ops[0]


def fragments_of(document: DocumentNode) -> dict[str, FragmentDefinitionNode]:
    return {d.name.value: d for d in document.definitions if isinstance(d, FragmentDefinitionNode)}


def fragment_of(document: DocumentNode, name: str | None = None) -> FragmentDefinitionNode:
    """The fragment to read or write: the only one, or the one called ``name``."""
    frags = fragments_of(document)
    if name is not None:
        if name not in frags:
            known = ", ".join(frags) or "none"
            raise DocumentError(f"no fragment named {name!r} in the document (fragments: {known})")
        return frags[name]
    if len(frags) != 1:
        raise DocumentError(
            f"the document has {len(frags)} fragments: pass fragment_name"
            if frags
            else "the document has no fragment definition"
        )
    return next(iter(frags.values()))


def describe(op: OperationDefinitionNode) -> str:
    """``query GetUser($userId: ID!)``, for error messages."""
    name = op.name.value if op.name else "(anonymous)"
    decls = ", ".join(
        f"${v.variable.name.value}: {print_ast(v.type)}" for v in op.variable_definitions or ()
    )
    return f"{op.operation.value} {name}" + (f"({decls})" if decls else "")


def _variables_used(node: Any, frags: Mapping[str, FragmentDefinitionNode],
                    out: dict[str, None], seen: set[str]) -> None:
    stack: list[Any] = [node]
    while stack:
        node = stack.pop()
        if isinstance(node, VariableNode):
            out.setdefault(node.name.value, None)
            continue
        if isinstance(node, FragmentSpreadNode):
            name = node.name.value
            if name not in seen and name in frags:
                seen.add(name)
                stack.append(frags[name])
        if isinstance(node, tuple):
            stack.extend(reversed(node))
            continue
        keys = getattr(node, "keys", None)
        if keys is None:
            continue
        for key in keys:
            if key in ("loc", "name", "type_condition"):
                continue
            child = getattr(node, key, None)
            if child is not None and not isinstance(child, (str, bool, int, float)):
                stack.append(child)


def checked_variables(document: DocumentNode, op: OperationDefinitionNode,
                      variables: Mapping[str, Any] | None) -> dict[str, Any]:
    """``variables`` with declared defaults applied, or a :class:`VariableError`.

    Refused: a variable the operation uses but does not declare; a variable passed
    but not declared (the chapter's ``fetchMore`` mistake); a non-null variable
    with no default that was not passed.
    """
    given = dict(variables or {})
    declared = {v.variable.name.value: v for v in op.variable_definitions or ()}
    used: dict[str, None] = {}
    _variables_used(op.selection_set, fragments_of(document), used, set())
    for d in op.directives or ():
        _variables_used(d, {}, used, set())
    undeclared = [name for name in used if name not in declared]
    if undeclared:
        raise VariableError(
            f"{describe(op)} uses ${undeclared[0]} but does not declare it: add "
            f"`${undeclared[0]}: <Type>` to the operation's variable definitions"
        )
    extra = [name for name in given if name not in declared]
    unfilled = [name for name in declared if name not in given]
    for name in extra:
        meant = _closest(name, unfilled)
        if meant is not None:
            case = " (variable names are case-sensitive)" if meant.lower() == name.lower() else ""
            raise VariableError(
                f"{describe(op)}: ${meant} is missing — did you mean `{meant}` instead of "
                f"`{name}`?{case}"
            )
    if extra:
        names = ", ".join(repr(n) for n in extra)
        raise VariableError(
            f"variable{'s' if len(extra) > 1 else ''} {names} passed, but {describe(op)} "
            f"does not declare {'them' if len(extra) > 1 else 'it'}, so the server would "
            f"ignore {'them' if len(extra) > 1 else 'it'} and answer as if not there; declare "
            f"{', '.join('$' + n for n in extra)} and use "
            f"{'them' if len(extra) > 1 else 'it'} in the field's arguments"
        )
    resolved: dict[str, Any] = {}
    for name, decl in declared.items():
        if name in given:
            resolved[name] = given[name]
        elif decl.default_value is not None:
            resolved[name] = value_from_ast_untyped(decl.default_value)
        elif isinstance(decl.type, NonNullTypeNode):
            raise VariableError(
                f"{describe(op)} needs variable ${name} ({print_ast(decl.type)}), not passed"
            )
    return resolved


def _closest(name: str, candidates: Sequence[str]) -> str | None:
    """The candidate ``name`` was probably meant as: same letters in another case, or close."""
    for candidate in candidates:
        if candidate.lower() == name.lower():
            return candidate
    close = difflib.get_close_matches(name, candidates, n=1, cutoff=0.75)
    return close[0] if close else None


def source_locations(sent: DocumentNode, errors: Sequence[Mapping[str, Any]]) -> list[Any]:
    """``errors`` with their ``locations`` moved from the text sent into the text written.

    The client sends ``print_ast`` of the document with ``__typename`` added: a
    re-formatted copy. A server's validation error points into that copy ("line 4,
    column 5") while the student's query was one line. The printed copy is parsed
    again and walked beside the document sent, whose nodes still carry their place
    in the original text; each location found at a node's start moves to that node's
    place. Locations with no such node, and documents built without a source, are
    left as they are.
    """
    if not errors or not any(isinstance(e, Mapping) and e.get("locations") for e in errors):
        return list(errors)
    moves: dict[tuple[int, int], tuple[int, int]] = {}
    _pair_locations(parse(print_ast(sent)), sent, moves)
    out: list[Any] = []
    for error in errors:
        locations = error.get("locations") if isinstance(error, Mapping) else None
        if not locations:
            out.append(error)
            continue
        moved = []
        for loc in locations:
            key = (loc.get("line"), loc.get("column")) if isinstance(loc, Mapping) else None
            if key in moves:
                line, column = moves[key]
                moved.append({**loc, "line": line, "column": column})
            else:
                moved.append(loc)
        out.append({**error, "locations": moved})
    return out


def _pair_locations(printed: Any, original: Any,
                    moves: dict[tuple[int, int], tuple[int, int]]) -> None:
    """Walk two ASTs of the same shape; map each printed node start to the original's."""
    stack = [(printed, original)]
    while stack:
        p, o = stack.pop()
        if isinstance(p, tuple) and isinstance(o, tuple):
            stack.extend(zip(p, o, strict=False))
            continue
        if not isinstance(p, Node) or not isinstance(o, Node) or type(p) is not type(o):
            continue
        if p.loc is not None and o.loc is not None and o.loc.source is not None:
            at = get_location(p.loc.source, p.loc.start)
            to = get_location(o.loc.source, o.loc.start)
            moves.setdefault((at.line, at.column), (to.line, to.column))
        for key in p.keys:
            if key != "loc":
                stack.append((getattr(p, key, None), getattr(o, key, None)))


def strip_undefined(value: Any) -> Any:
    """An argument value with unset variables removed (as a server would omit them)."""
    if isinstance(value, dict):
        return {k: strip_undefined(v) for k, v in value.items() if v is not Undefined}
    if isinstance(value, list):
        return [None if v is Undefined else strip_undefined(v) for v in value]
    return value

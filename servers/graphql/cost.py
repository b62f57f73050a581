"""What one GraphQL operation asks for, measured from its document before it runs.

- **depth**: how many field levels nest below a root field (root fields are level 0, as in
  graphql-depth-limit, whose port strawberry ships);
- **cost**: an upper bound on how many fields execution resolves. A field costs 1 each time
  its parents repeat it, and a list field repeats its selection once per item it may return:
  its ``limit``/``first``/``last`` argument (a literal, a variable's value, the variable's
  default or the argument's default, clamped to ``0..max_list``), or ``default_list`` for a
  list without one. ``posts(limit: 100) { author { posts(limit: 100) { ... } } }`` four
  levels deep costs about 100⁴: refused before it runs instead of answering 16 MB in 5 s.

Introspection fields (``__schema``, ``__type``, ``__typename``) are free: their size is the
schema's, not the data's, so tools keep working. The walk follows fragments (each spread
counts where it is used) and remembers each fragment's measure, so a document of fragments
that spread each other twice per level is measured in linear time, not 2^levels. Unknown
fields, unknown fragments and fragment cycles count 0: validation reports them. Pure: a
schema, a document and variables in, numbers out.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from graphql import (
    DocumentNode,
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLSchema,
    InlineFragmentNode,
    IntValueNode,
    OperationDefinitionNode,
    OperationType,
    SelectionSetNode,
    VariableNode,
    get_named_type,
    get_nullable_type,
    is_list_type,
)

SIZE_ARGUMENTS = ("limit", "first", "last")


@dataclass(frozen=True)
class Measure:
    depth: int
    cost: int


@dataclass
class _Walk:
    schema: GraphQLSchema
    fragments: dict[str, FragmentDefinitionNode]
    variables: Mapping[str, Any]
    defaults: dict[str, Any]
    max_list: int
    default_list: int

    def __post_init__(self) -> None:
        self.done: dict[str, Measure] = {}
        self.visiting: set[str] = set()

    def selection_set(self, node: SelectionSetNode | None, parent: Any) -> Measure:
        """Depth and cost of ``node`` resolved once under an object of type ``parent``."""
        depth = cost = 0
        for selection in node.selections if node else ():
            if isinstance(selection, FieldNode):
                m = self.field(selection, parent)
            elif isinstance(selection, InlineFragmentNode):
                condition = selection.type_condition
                m = self.selection_set(selection.selection_set,
                                       self._type(condition.name.value) if condition else parent)
            elif isinstance(selection, FragmentSpreadNode):
                m = self.fragment(selection.name.value)
            else:  # pragma: no cover - graphql-core has no other selection kind
                continue
            depth, cost = max(depth, m.depth), cost + m.cost
        return Measure(depth, cost)

    def field(self, node: FieldNode, parent: Any) -> Measure:
        name = node.name.value
        fields = getattr(parent, "fields", None)
        if name.startswith("__") or not fields or name not in fields:
            return Measure(0, 0)
        definition = fields[name]
        if node.selection_set is None:
            return Measure(0, 1)
        inner = self.selection_set(node.selection_set, get_named_type(definition.type))
        return Measure(inner.depth + 1, 1 + self.size(node, definition) * inner.cost)

    def fragment(self, name: str) -> Measure:
        if name in self.done:
            return self.done[name]
        definition = self.fragments.get(name)
        if definition is None or name in self.visiting:
            return Measure(0, 0)
        self.visiting.add(name)
        measure = self.selection_set(definition.selection_set,
                                     self._type(definition.type_condition.name.value))
        self.visiting.discard(name)
        self.done[name] = measure
        return measure

    def size(self, node: FieldNode, definition: Any) -> int:
        """How many times a field's selection may repeat: 1 unless it returns a list."""
        if not is_list_type(get_nullable_type(definition.type)):
            return 1
        for argument in SIZE_ARGUMENTS:
            if argument in definition.args:
                value = self._argument(node, argument, definition.args[argument].default_value)
                if isinstance(value, int) and not isinstance(value, bool):
                    return min(max(value, 0), self.max_list)
                return self.max_list  # not an int: coercion will refuse it; assume the worst
        return self.default_list

    def _argument(self, node: FieldNode, name: str, default: Any) -> Any:
        for argument in node.arguments or ():
            if argument.name.value != name:
                continue
            value = argument.value
            if isinstance(value, IntValueNode):
                return _int(value.value)
            if isinstance(value, VariableNode):
                var = value.name.value
                return self.variables.get(var, self.defaults.get(var, default))
            return None
        return default

    def _type(self, name: str) -> Any:
        return self.schema.get_type(name)


def _int(text: str) -> int | None:
    try:
        return int(text)
    except ValueError:  # longer than int()'s digit limit
        return None


def operation(document: DocumentNode, name: str | None) -> OperationDefinitionNode | None:
    """The operation a request runs: the one named ``name``, or the only one."""
    ops = [d for d in document.definitions if isinstance(d, OperationDefinitionNode)]
    if name:
        return next((op for op in ops if op.name and op.name.value == name), None)
    return ops[0] if len(ops) == 1 else None


def measure(schema: GraphQLSchema, document: DocumentNode, operation_name: str | None = None,
            variables: Mapping[str, Any] | None = None, *, max_list: int = 100,
            default_list: int = 10) -> Measure | None:
    """Depth and cost of the operation a request runs (None: no such operation)."""
    op = operation(document, operation_name)
    if op is None:
        return None
    root = {OperationType.QUERY: schema.query_type, OperationType.MUTATION: schema.mutation_type,
            OperationType.SUBSCRIPTION: schema.subscription_type}.get(op.operation)
    defaults = {
        v.variable.name.value: _int(v.default_value.value)
        for v in op.variable_definitions or ()
        if isinstance(v.default_value, IntValueNode)
    }
    fragments = {d.name.value: d for d in document.definitions
                 if isinstance(d, FragmentDefinitionNode)}
    walk = _Walk(schema, fragments, variables if isinstance(variables, Mapping) else {},
                 defaults, max_list, default_list)
    return walk.selection_set(op.selection_set, root)

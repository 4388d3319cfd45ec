"""Identifier consistency: the names C_N uses should exist where it was written.

A commit that calls names found nowhere in its context, among the builtins or in its imports was
probably written against code the model never saw (another file, a later refactor); training on
it teaches the model to invent names. Known names are: identifiers anywhere in the context
(definitions, imports and uses alike: a window rarely holds the definition itself), names C_N binds
itself (assignments, parameters, imports, loop targets), and the language's builtins.

Strictness: off keeps everything; lenient ignores attribute and member names (`obj.attr`,
`std::sort`: they live in other files' types) and allows unknown names up to a share of the
distinct names used; strict checks attribute names against the context too and allows none.

A context broken before the cursor's line (see the syntax verifier: a window cut inside a docstring or a
literal) is skipped with the note `context_broken`: the parser reads the prose or data there as
code, and its "names" are words.
"""

from __future__ import annotations

import builtins
from dataclasses import dataclass
from typing import Literal

from tree_sitter import Node

from .. import grammars
from ..records import Gap, Verdict
from .syntax import CONTEXT_BROKEN, context_broken_before

STAGE = "identifiers"
Strictness = Literal["off", "lenient", "strict"]


@dataclass(frozen=True)
class _Rules:
    """How one grammar spells names: which nodes are plain names, members, and binding places."""

    names: frozenset[str]  # node types of plain names (checked at every strictness)
    members: frozenset[str]  # node types of attribute / member names (strict only)
    targets: frozenset[tuple[str, str]]  # (node type, field) whose name patterns bind names
    binders: frozenset[str]  # node types whose name children (and patterns) all bind names
    patterns: frozenset[str]  # destructuring nodes through which a target binds its names
    builtins: frozenset[str]


_PYTHON = _Rules(
    names=frozenset({"identifier"}),
    members=frozenset(),  # python attributes are identifiers too: see _member_names
    targets=frozenset({
        ("assignment", "left"), ("augmented_assignment", "left"), ("for_statement", "left"),
        ("for_in_clause", "left"), ("named_expression", "name"), ("function_definition", "name"),
        ("class_definition", "name"), ("as_pattern", "alias"), ("aliased_import", "alias"),
        ("default_parameter", "name"), ("typed_default_parameter", "name"),
    }),
    binders=frozenset({
        "parameters", "lambda_parameters", "typed_parameter", "list_splat_pattern",
        "dictionary_splat_pattern", "global_statement", "nonlocal_statement", "import_statement",
        "import_from_statement", "dotted_name", "as_pattern_target",
    }),
    patterns=frozenset({"pattern_list", "tuple_pattern", "list_pattern", "list_splat_pattern", "as_pattern_target"}),
    builtins=frozenset(dir(builtins)) | {"self", "cls", "__file__", "__name__"},
)
_JAVASCRIPT = _Rules(
    names=frozenset({"identifier", "shorthand_property_identifier"}),
    members=frozenset({"property_identifier"}),
    targets=frozenset({
        ("variable_declarator", "name"), ("function_declaration", "name"), ("class_declaration", "name"),
        ("arrow_function", "parameter"), ("catch_clause", "parameter"), ("for_in_statement", "left"),
        ("assignment_pattern", "left"), ("generator_function_declaration", "name"),
    }),
    binders=frozenset({
        "formal_parameters", "import_specifier", "import_clause", "namespace_import", "array_pattern",
        "object_pattern", "rest_pattern",
    }),
    patterns=frozenset({
        "array_pattern", "object_pattern", "assignment_pattern", "object_assignment_pattern", "rest_pattern", "pair_pattern",
    }),
    builtins=frozenset({
        "console", "window", "document", "globalThis", "process", "require", "module", "exports",
        "Math", "JSON", "Object", "Array", "String", "Number", "Boolean", "Symbol", "BigInt", "Date",
        "RegExp", "Error", "TypeError", "RangeError", "Promise", "Map", "Set", "WeakMap", "WeakSet",
        "Reflect", "Proxy", "Intl", "parseInt", "parseFloat", "isNaN", "isFinite", "undefined", "NaN",
        "Infinity", "setTimeout", "clearTimeout", "setInterval", "clearInterval", "fetch", "URL",
        "Buffer", "arguments", "encodeURIComponent", "decodeURIComponent", "localStorage", "alert",
        "structuredClone", "queueMicrotask", "TextEncoder", "TextDecoder", "AbortController",
    }),
)
_CPP = _Rules(
    names=frozenset({"identifier", "type_identifier"}),
    members=frozenset({"field_identifier", "namespace_identifier"}),
    targets=frozenset({
        ("init_declarator", "declarator"), ("declaration", "declarator"), ("function_declarator", "declarator"),
        ("parameter_declaration", "declarator"), ("optional_parameter_declaration", "declarator"),
        ("for_range_loop", "declarator"), ("class_specifier", "name"), ("struct_specifier", "name"),
        ("enum_specifier", "name"), ("type_definition", "declarator"), ("alias_declaration", "name"),
        ("preproc_def", "name"), ("preproc_function_def", "name"), ("enumerator", "name"),
    }),
    binders=frozenset({"preproc_params", "lambda_capture_specifier", "structured_binding_declarator"}),
    patterns=frozenset({
        "pointer_declarator", "reference_declarator", "array_declarator", "init_declarator",
        "function_declarator", "structured_binding_declarator",
    }),
    builtins=frozenset({
        "std", "main", "printf", "fprintf", "sprintf", "snprintf", "scanf", "puts", "putchar", "getchar",
        "malloc", "calloc", "realloc", "free", "memset", "memcpy", "memmove", "memcmp", "strlen", "strcpy",
        "strncpy", "strcmp", "strncmp", "strcat", "exit", "abort", "assert", "abs", "sqrt", "pow", "floor",
        "ceil", "size_t", "ptrdiff_t", "int8_t", "int16_t", "int32_t", "int64_t", "uint8_t", "uint16_t",
        "uint32_t", "uint64_t", "NULL", "EOF", "stdin", "stdout", "stderr", "cout", "cin", "cerr", "endl",
        "string", "vector", "map", "unordered_map", "set", "unordered_set", "pair", "make_pair", "tuple",
        "sort", "min", "max", "swap", "move", "forward", "begin", "end", "unique_ptr", "shared_ptr",
        "make_unique", "make_shared", "to_string", "getline", "this",
    }),
)
_RULES = {"python": _PYTHON, "javascript": _JAVASCRIPT, "cpp": _CPP}


def check_identifiers(gap: Gap, *, strictness: Strictness, max_unknown_ratio: float) -> Verdict:
    """Drop a commit using too many names unknown to its context (see the module docstring)."""
    grammar = grammars.grammar_name(gap.language)
    if strictness == "off" or gap.is_void:
        return Verdict.kept(STAGE)
    if grammar is None:
        return Verdict.kept(STAGE, note="unsupported_language")
    if context_broken_before(gap):
        return Verdict.kept(STAGE, note=CONTEXT_BROKEN)
    rules = _RULES[grammar]
    start = len(gap.prefix.encode("utf-8"))
    end = start + len(gap.committed.encode("utf-8"))
    document = gap.prefix + gap.committed + gap.suffix_text
    tree = grammars.parse(grammar, document)
    known, used, members = set(rules.builtins), set(), set()
    for node in grammars.walk_within(tree.root_node, start, end):
        if node.child_count or not node.type.endswith("identifier"):
            known.update(_bound_names(node, rules))
            continue
        text = node.text.decode("utf-8", "replace")
        if node.type in rules.members or _is_member(node, grammar):
            members.add(text)
        elif node.type in rules.names and not _is_keyword_name(node, grammar):
            used.add(text)
    checked = used | (members if strictness == "strict" else set())
    unknown = checked - known
    if unknown:
        raw = document.encode("utf-8")
        unknown -= grammars.named_outside(tree, raw, start, end, unknown)
    if unknown and grammars.star_import_outside(tree, grammar, raw, start, end):
        return Verdict.kept(STAGE, note="star_import")
    if not unknown:
        return Verdict.kept(STAGE)
    if strictness == "strict" or len(unknown) / len(checked) > max_unknown_ratio:
        return Verdict.dropped(STAGE, "unknown_identifiers")
    return Verdict.kept(STAGE)


def _bound_names(node: Node, rules: _Rules) -> set[str]:
    """Names a node binds by its own syntax: a target field, or a binding construct's children."""
    bound: set[str] = set()
    for node_type, field in rules.targets:
        if node.type == node_type:
            target = node.child_by_field_name(field)
            if target is not None:
                bound.update(_pattern_names(target, rules))
    if node.type in rules.binders:
        for child in node.named_children:
            bound.update(_pattern_names(child, rules))
    return bound


def _pattern_names(node: Node, rules: _Rules) -> set[str]:
    """The names inside a binding target, through destructuring only (`a.b = 1` binds no name)."""
    if not node.child_count and "identifier" in node.type and node.type not in rules.members:
        return {node.text.decode("utf-8", "replace")}
    if node.type in rules.patterns or node.type.startswith("typed_"):
        names: set[str] = set()
        for child in node.named_children:
            names.update(_pattern_names(child, rules))
        return names
    return set()


def _is_member(node: Node, grammar: str) -> bool:
    """An attribute or qualified member name: `obj.attr` in Python, `ns::name` in C++."""
    parent = node.parent
    if parent is None:
        return False
    if grammar == "python":
        return parent.type == "attribute" and parent.child_by_field_name("attribute") == node
    if grammar == "cpp":
        return parent.type == "qualified_identifier" and parent.child_by_field_name("name") == node
    return False


def _is_keyword_name(node: Node, grammar: str) -> bool:
    """`f(key=1)` in Python names the callee's parameter: neither a use nor a binding here."""
    parent = node.parent
    return grammar == "python" and parent is not None and parent.type == "keyword_argument" and (
        parent.child_by_field_name("name") == node
    )

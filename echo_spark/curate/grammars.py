"""Tree-sitter grammars, loaded once per process and shared by the teacher and the verifiers.

The curate job calls these per batch, so the Language objects are built on first use and kept;
a Parser holds mutable state, so each thread gets its own (the LLM teacher falls back to the
syntax teacher from worker threads). Only the grammar wheels are used, never a package that
downloads grammars at run time.
"""

from __future__ import annotations

import ast
import threading
import warnings
from collections.abc import Iterator
from functools import cache, lru_cache

from tree_sitter import Language, Node, Parser, Tree

# Editor language ids -> the grammar that parses them. C is parsed with the C++ grammar: close
# enough for error counting and statement spans. TypeScript has no grammar wheel here.
_ALIASES = {
    "python": "python",
    "py": "python",
    "javascript": "javascript",
    "js": "javascript",
    "javascriptreact": "javascript",
    "jsx": "javascript",
    "cpp": "cpp",
    "c++": "cpp",
    "c": "cpp",
    "cuda-cpp": "cpp",
}

_local = threading.local()


def grammar_name(language: str | None) -> str | None:
    """The grammar for an editor language id, None when the language is not supported."""
    return _ALIASES.get((language or "").strip().lower())


@cache
def _language(name: str) -> Language:
    if name == "python":
        import tree_sitter_python as grammar
    elif name == "javascript":
        import tree_sitter_javascript as grammar
    else:
        import tree_sitter_cpp as grammar
    return Language(grammar.language())


def _parser(name: str) -> Parser:
    parsers: dict[str, Parser] = getattr(_local, "parsers", None) or {}
    _local.parsers = parsers
    if name not in parsers:
        parsers[name] = Parser(_language(name))
    return parsers[name]


@lru_cache(maxsize=8)
def parse(grammar: str, text: str) -> Tree:
    """Parse UTF-8 text with a grammar returned by `grammar_name`.

    The stages of one gap parse the same document more than once (the teacher and the syntax
    and identifier verifiers all read prefix + C_N + suffix when the teacher keeps C_N whole), so
    the last few trees are kept; trees are never edited here, so sharing them is safe.
    """
    return _parser(grammar).parse(text.encode("utf-8"))


def error_count(tree: Tree) -> int:
    """ERROR and MISSING nodes: how badly the parser had to recover (subtrees without errors are skipped)."""
    count = 0
    stack = [tree.root_node]
    while stack:
        node = stack.pop()
        if node.is_error or node.is_missing:
            count += 1
        if node.has_error:
            stack.extend(node.children)
    return count


def walk(node: Node) -> Iterator[Node]:
    """Every node under `node`, pre-order, without recursion (deep files would hit the limit)."""
    stack = [node]
    while stack:
        current = stack.pop()
        yield current
        stack.extend(reversed(current.children))


def walk_overlapping(node: Node, lo: int, hi: int) -> Iterator[Node]:
    """The nodes of `walk` whose bytes overlap [lo, hi): a subtree wholly outside is skipped,
    which makes a lookup around the cursor cost the depth of the tree, not its size."""
    stack = [node]
    while stack:
        current = stack.pop()
        yield current
        stack.extend(c for c in reversed(current.children) if c.start_byte < hi and c.end_byte > lo)


def python_ast(source: str | bytes) -> ast.Module | None:
    """CPython's parse of the source, None when it is not valid Python.

    CPython warns about suspect literals while parsing ('invalid escape sequence', 'invalid
    decimal literal'), and a warning quotes the code: silenced here so that the curate job's
    output never shows document content.
    """
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            return ast.parse(source)
        except (SyntaxError, ValueError, RecursionError, MemoryError):
            return None

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
from collections import OrderedDict
from collections.abc import Iterator
from functools import cache

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


def load_grammars() -> None:
    """Every grammar and this thread's parser for it, loaded now rather than by the first gap of
    its language."""
    for name in set(_ALIASES.values()):
        _parser(name)


def _parser(name: str) -> Parser:
    parsers: dict[str, Parser] = getattr(_local, "parsers", None) or {}
    _local.parsers = parsers
    if name not in parsers:
        parsers[name] = Parser(_language(name))
    return parsers[name]


# The last few trees, by (grammar, text), most recent last: the stages of one gap parse the same
# document more than once (the syntax and identifier verifiers both read prefix + C_N + suffix), and
# a new document is parsed incrementally from the most recent tree of its grammar (below). Trees are
# never edited in place here (an edit works on a copy), so sharing them is safe; each thread keeps
# its own, as it keeps its parsers.
_TREES_KEPT = 8


def _kept_trees() -> OrderedDict[tuple[str, str], Tree]:
    trees: OrderedDict[tuple[str, str], Tree] | None = getattr(_local, "trees", None)
    if trees is None:
        trees = _local.trees = OrderedDict()
    return trees


def _kept(key: tuple[str, str]) -> Tree | None:
    trees = _kept_trees()
    if key in trees:
        trees.move_to_end(key)
        return trees[key]
    return None


def _remember(key: tuple[str, str], tree: Tree) -> Tree:
    trees = _kept_trees()
    trees[key] = tree
    if len(trees) > _TREES_KEPT:
        trees.popitem(last=False)
    return tree


def parse(grammar: str, text: str) -> Tree:
    """Parse UTF-8 text with a grammar returned by `grammar_name`.

    Curate meets a session's requests one after another, and each one's document is mostly the
    last one's (the same file, a few lines typed since): when the text shares at least half its
    characters with the most recent document of the grammar, as one common start and one common
    end, that tree is edited (on a copy) and reparsed, which costs the size of the difference
    instead of the document's (on the 1M simulation's silver, three quarters of a context's
    characters are shared with the previous row's). Only a tree without errors is reused: from one
    with errors, the incremental parse recovered differently from a fresh one in 9 of 5,000 silver
    rows; from a clean one it gave the fresh parse's tree in every row tried (tests compare them).
    """
    key = (grammar, text)
    if (tree := _kept(key)) is not None:
        return tree
    for (kept_grammar, kept_text), kept_tree in reversed(_kept_trees().items()):
        if kept_grammar == grammar and not kept_tree.root_node.has_error:
            start = _common_start(kept_text, text)
            end = _common_end(kept_text, text, min(len(kept_text), len(text)) - start)
            if 2 * (start + end) >= len(text):
                return _remember(key, _reparse(grammar, kept_text, kept_tree, text, start, end))
            break
    return _remember(key, _parser(grammar).parse(text.encode("utf-8")))


def parse_insertion(grammar: str, before: str, inserted: str, after: str) -> Tree:
    """The tree of before + inserted + after, parsed incrementally from the tree of before + after
    (the syntax verifier parses a document with and without the commit) when that tree is clean."""
    text = before + inserted + after
    key = (grammar, text)
    if (tree := _kept(key)) is not None:
        return tree
    context = parse(grammar, before + after)
    if context.root_node.has_error:
        return _remember(key, _parser(grammar).parse(text.encode("utf-8")))
    return _remember(key, _reparse(grammar, before + after, context, text, len(before), len(after)))


def _reparse(grammar: str, old: str, tree: Tree, new: str, start: int, end: int) -> Tree:
    """The tree of `new`, from `tree` of `old` where the two share `start` first and `end` last characters."""
    edited = tree.copy()
    edited.edit(start_byte=len(old[:start].encode("utf-8")), old_end_byte=len(old[: len(old) - end].encode("utf-8")),
                new_end_byte=len(new[: len(new) - end].encode("utf-8")), start_point=_point(old[:start]),
                old_end_point=_point(old[: len(old) - end]), new_end_point=_point(new[: len(new) - end]))
    return _parser(grammar).parse(new.encode("utf-8"), edited)


def _common_start(a: str, b: str) -> int:
    """Length of the longest common start (binary search over slice comparisons, which run in C)."""
    lo, hi = 0, min(len(a), len(b))
    while lo < hi:
        mid = (lo + hi + 1) // 2
        if a[:mid] == b[:mid]:
            lo = mid
        else:
            hi = mid - 1
    return lo


def _common_end(a: str, b: str, limit: int) -> int:
    """Length of the longest common end, at most `limit` characters."""
    lo, hi = 0, limit
    while lo < hi:
        mid = (lo + hi + 1) // 2
        if a[len(a) - mid :] == b[len(b) - mid :]:
            lo = mid
        else:
            hi = mid - 1
    return lo


def _point(text: str) -> tuple[int, int]:
    """(row, byte column) where `text` ends."""
    return text.count("\n"), len(text[text.rfind("\n") + 1 :].encode("utf-8"))


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


def _occurrences_outside(document: bytes, needle: bytes, start: int, end: int) -> Iterator[int]:
    """Where `needle` occurs in the document wholly outside bytes [start, end), in order."""
    for lo, hi in ((0, start), (end, len(document))):
        at = document.find(needle, lo, hi)
        while at >= 0:
            yield at
            at = document.find(needle, at + 1, hi)


def named_outside(tree: Tree, document: bytes, start: int, end: int, names: set[str]) -> set[str]:
    """Those of `names` that a name node (a leaf whose kind ends in `identifier`, in all three
    grammars the spelling of a name) spells outside bytes [start, end) of the document.

    Only where a name's bytes occur is the tree asked which node is there: a commit uses a few
    names, while reading every name node of a large file from Python cost more than parsing it."""
    root = tree.root_node
    found: set[str] = set()
    for name in names:
        spelled = name.encode("utf-8")
        for at in _occurrences_outside(document, spelled, start, end):
            node = root.named_descendant_for_byte_range(at, at + len(spelled))
            if (node is not None and node.start_byte == at and node.end_byte == at + len(spelled)
                    and not node.child_count and node.type.endswith("identifier")):
                found.add(name)
                break
    return found


def star_import_outside(tree: Tree, grammar: str, document: bytes, start: int, end: int) -> bool:
    """Does Python's `from m import *` occur outside bytes [start, end) (a star import makes any name known)?"""
    if grammar != "python":
        return False
    root = tree.root_node
    return any((node := root.named_descendant_for_byte_range(at, at + 1)) is not None and node.type == "wildcard_import"
               for at in _occurrences_outside(document, b"*", start, end))


def walk_within(node: Node, lo: int, hi: int) -> Iterator[Node]:
    """The nodes under `node` that lie within bytes [lo, hi], pre-order: subtrees wholly outside
    are skipped, so reading the commit's nodes costs the commit's size and the tree's depth."""
    stack = [node]
    while stack:
        current = stack.pop()
        if lo <= current.start_byte and current.end_byte <= hi:
            yield current
        stack.extend(c for c in reversed(current.children) if c.end_byte >= lo and c.start_byte <= hi)


def python_parses(source: str) -> bool:
    """Is the source valid Python by CPython's parser (what `ast.parse` accepts)?

    Compiling to bytecode first: it takes about half of `ast.parse`'s time, which builds every node
    as a Python object, and whatever it accepts `ast.parse` accepts. It also rejects what only
    the compiler checks (`return` outside a function, ...), so its rejections are asked again
    of `ast.parse`. CPython warns about suspect literals while parsing ('invalid escape
    sequence', 'invalid decimal literal'), and a warning quotes the code: silenced here so that
    the curate job's output never shows document content.
    """
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            compile(source, "<gap>", "exec", dont_inherit=True)
            return True
        except (SyntaxError, ValueError, RecursionError, MemoryError):
            pass
        try:
            ast.parse(source)
            return True
        except (SyntaxError, ValueError, RecursionError, MemoryError):
            return False

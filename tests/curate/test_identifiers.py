"""Identifier consistency: names in C_N must come from the context, the builtins, imports or C_N itself."""

from __future__ import annotations

import pytest

from echo_spark.curate.records import Gap, Verdict
from echo_spark.curate.verifiers.identifiers import Strictness, check_identifiers

from .stdlib_samples import stdlib_gaps

PY_CONTEXT = "import os\nfrom pathlib import Path\n\n\ndef load(name, retries=3):\n    base = Path(name)\n"


def _check(prefix: str, committed: str, suffix: str | None = "\n", *, language: str = "python",
           strictness: Strictness = "lenient", ratio: float = 0.25) -> Verdict:
    return check_identifiers(Gap("r", prefix, suffix, committed, language), strictness=strictness, max_unknown_ratio=ratio)


@pytest.mark.parametrize("committed,strictness", [
    ("    return os.path.join(base, name)", "lenient"),  # imported, context, parameter; attributes
    ("    size = len(name)\n    return size * retries", "strict"),  # a builtin, a name bound in C_N
    ("    for i, part in enumerate(base.parts):\n        print(i, part)", "lenient"),  # loop targets
    ("    data = [x for x in range(retries) if x]", "strict"),  # comprehension variable
    ("    with open(name) as fh:\n        return fh.read()", "lenient"),  # with-as
    ("    import json\n    return json.loads(name)", "lenient"),  # imported in C_N
    ("    def helper(a, *rest, key=None, **kw):\n        return a, rest, key, kw", "strict"),  # parameters
    ("    return sorted(name, key=len, reverse=True)", "strict"),  # keyword argument names are no uses
])
def test_python_names_from_the_context_are_kept(committed: str, strictness: Strictness) -> None:
    assert _check(PY_CONTEXT, committed, strictness=strictness).keep


def test_unknown_names_are_dropped() -> None:
    verdict = _check(PY_CONTEXT, "    return fetch_remote_config(cluster_id, region)")
    assert verdict == Verdict.dropped("identifiers", "unknown_identifiers")


def test_lenient_allows_a_share_of_unknowns_and_attributes() -> None:
    committed = "    return build(base, name, retries, os.sep.mystery_attr)"  # 1 unknown of 5 names
    assert _check(PY_CONTEXT + "    build = None\n", committed.replace("build", "rebuild"), ratio=0.25).keep
    assert _check(PY_CONTEXT + "    build = None\n", committed.replace("build", "rebuild"), ratio=0.1).reason == "unknown_identifiers"


def test_strict_checks_attributes_and_allows_no_unknown() -> None:
    committed = "    return base.with_suffix(name)"
    assert _check(PY_CONTEXT, committed, strictness="lenient").keep
    assert _check(PY_CONTEXT, committed, strictness="strict").reason == "unknown_identifiers"
    assert _check(PY_CONTEXT + "    # base.with_suffix is Path API\n    p = base.with_suffix\n", committed, strictness="strict").keep


def test_names_defined_after_the_gap_count() -> None:
    assert _check("def main():\n    ", "return helper(1)", "\n\n\ndef helper(x):\n    return x\n", strictness="strict").keep


def test_star_import_makes_unknowns_unknowable() -> None:
    verdict = _check("from tkinter import *\n\n", "root = Tk()\nlabel = Label(root)", strictness="strict")
    assert verdict == Verdict.kept("identifiers", note="star_import")


def test_javascript() -> None:
    context = "import { readFile } from 'fs';\n\nfunction load(path, opts) {\n"
    assert _check(context, "  const { encoding = 'utf8' } = opts;\n  return readFile(path, encoding, (t) => t);",
                  "\n}\n", language="javascript", strictness="strict").keep
    assert _check(context, "  return fetchRemote(path, retryPolicy);", "\n}\n", language="javascript").reason == "unknown_identifiers"
    assert _check(context, "  return opts.cache.lookup(path);", "\n}\n", language="javascript").keep  # members: lenient


def test_cpp() -> None:
    context = "#include <vector>\n\nint total(const std::vector<int>& values) {\n"
    assert _check(context, "  int sum = 0;\n  for (int v : values) sum += v;\n  return sum;", "\n}\n",
                  language="cpp", strictness="strict").keep
    assert _check(context, "  return accumulate_all(values, kSeed, policy);", "\n}\n", language="cpp").reason == "unknown_identifiers"


def test_off_void_and_unsupported() -> None:
    assert _check(PY_CONTEXT, "    return nowhere_defined()", strictness="off").keep
    assert _check(PY_CONTEXT, "").keep
    assert _check("let x = ", "nowhere", language="typescript") == Verdict.kept("identifiers", note="unsupported_language")


def test_a_name_completed_mid_token_is_not_judged() -> None:
    """`bas|` + `e.stem`: the name straddles the cursor; its completion is not a use of a new name."""
    assert _check(PY_CONTEXT + "    return bas", "e.stem", strictness="lenient").keep


def test_a_context_broken_before_the_cursor_line_is_not_checked() -> None:
    """Prose in a docstring the window starts inside: its words are not names. Kept with a note;
    the same words after code that parses are checked (and dropped as unknown)."""
    prose = "shell, if a do_shell method exists."
    window = "   commands, miscellaneous help topics, and undocumented commands.\n6. The command '?' is a synonym\n   "
    broken = check_identifiers(Gap("r", window, "", prose, "python"), strictness="lenient", max_unknown_ratio=0.25)
    assert broken.keep and broken.note == "context_broken"
    clean = check_identifiers(Gap("r", "x = 1\n", "", prose, "python"), strictness="lenient", max_unknown_ratio=0.25)
    assert not clean.keep


def _names_by_query(tree, grammar: str, start: int, end: int) -> tuple[set[str], bool]:
    """The reference: every name node a tree-sitter query finds outside [start, end), and whether a
    star import is there (what the verifier read before it looked only where a commit's names occur)."""
    from tree_sitter import Query, QueryCursor

    from echo_spark.curate.grammars import _language

    language = _language(grammar)
    kinds = {language.node_kind_for_id(i) or "" for i in range(language.node_kind_count)
             if language.node_kind_is_named(i) and language.node_kind_is_visible(i)}
    names = " ".join(f"({kind})" for kind in sorted(kinds) if kind.endswith("identifier"))
    star = " (wildcard_import) @star" if "wildcard_import" in kinds else ""
    found, star_import = set(), False
    for kind, nodes in QueryCursor(Query(language, f"[{names}] @name{star}")).captures(tree.root_node).items():
        for node in nodes:
            outside = node.end_byte <= start or node.start_byte >= end
            if kind == "star":
                star_import = star_import or not (start <= node.start_byte and node.end_byte <= end)
            elif not node.child_count and outside:
                found.add(node.text.decode("utf-8"))
    return found, star_import


@pytest.mark.parametrize("grammar, document", [
    ("python", "from os.path import *\nimport sys\n\ndef f(x, y=2):\n    return sys.argv[x] + y * 3\n"),
    ("python", "class A:\n    def m(self):\n        return self.value\n\nprint(A().m())\n"),
    ("javascript", "import * as fs from 'fs';\nconst f = (a) => fs.readFileSync(a);\nclass B { m() { return this.x; } }\n"),
    ("cpp", "#include <vector>\nint main() { std::vector<int> v; for (auto& x : v) { x += 1; } return 0; }\n"),
])
def test_names_outside_the_commit_are_those_a_query_finds(grammar, document):
    from echo_spark.curate import grammars

    raw = document.encode("utf-8")
    tree = grammars.parse(grammar, document)
    for start, end in [(0, 0), (len(raw) // 3, len(raw) // 2), (len(raw) // 2, len(raw)), (0, len(raw))]:
        names, star = _names_by_query(tree, grammar, start, end)
        spelled = {n.text.decode("utf-8") for n in _leaves(tree.root_node)} | {"nowhere"}
        assert grammars.named_outside(tree, raw, start, end, spelled) == names
        assert grammars.star_import_outside(tree, grammar, raw, start, end) == star


def test_names_outside_the_commit_on_stdlib_windows():
    from echo_spark.curate import grammars

    for prefix, middle, suffix in stdlib_gaps(60):
        document = prefix + middle + (suffix or "")
        raw = document.encode("utf-8")
        start = len(prefix.encode("utf-8"))
        end = start + len(middle.encode("utf-8"))
        tree = grammars.parse("python", document)
        names, star = _names_by_query(tree, "python", start, end)
        spelled = {n.text.decode("utf-8") for n in _leaves(tree.root_node)}
        assert grammars.named_outside(tree, raw, start, end, spelled) == names
        assert grammars.star_import_outside(tree, "python", raw, start, end) == star


def _leaves(node):
    stack = [node]
    while stack:
        current = stack.pop()
        if not current.child_count:
            yield current
        stack.extend(current.children)

"""The strict YAML dialect of job files, finding a setting's node to report `line:col`, and
saying how to fix the syntax errors job authors make most (`syntax_error`).

Strict means: a mapping key may appear once; only `true`/`false` are booleans, and the YAML 1.1
words `yes/no/on/off` must be quoted as values (PyYAML would silently read `on:` as `True:`); dates
stay strings. Every violation in a document is reported at once, not just the first.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import yaml
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

if TYPE_CHECKING:
    _BaseLoader = yaml.SafeLoader
else:  # the C parser is much faster; fall back to pure Python where libyaml is missing
    _BaseLoader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)

_BOOL_TAG = "tag:yaml.org,2002:bool"
_STR_TAG = "tag:yaml.org,2002:str"
_TIMESTAMP_TAG = "tag:yaml.org,2002:timestamp"
_MERGE_KEY = "<<"
# YAML 1.1 booleans that PyYAML and other readers take as true/false. `y` and `n` are booleans
# only in the 1.1 specification: no common reader (PyYAML, the Databricks CLI's) treats them so.
AMBIGUOUS_BOOLEANS = frozenset({"yes", "no", "on", "off"})


@dataclass(frozen=True, slots=True)
class YamlIssue:
    """A violation of the strict dialect at a 1-based `line`/`column`, under `path`."""

    line: int
    column: int
    path: tuple[str | int, ...]  # mapping keys and list indexes from the document root
    message: str


class StrictYamlError(yaml.YAMLError):
    """Raised when a document breaks the strict dialect; `issues` lists every violation."""

    def __init__(self, issues: Sequence[YamlIssue]) -> None:
        self.issues = list(issues)
        super().__init__("; ".join(f"{i.line}:{i.column}: {i.message}" for i in self.issues))


class StrictLoader(_BaseLoader):
    """PyYAML's (C) safe loader with unique keys and `true`/`false` as the only booleans."""

    yaml_implicit_resolvers = {
        first: [(tag, rx) for tag, rx in resolvers if tag not in (_BOOL_TAG, _TIMESTAMP_TAG)]
        for first, resolvers in _BaseLoader.yaml_implicit_resolvers.items()
    }

    def construct_document(self, node: Node) -> object:
        """Check the whole node tree first, so every violation is reported together."""
        issues = scan(node)
        if issues:
            raise StrictYamlError(issues)
        return super().construct_document(node)


StrictLoader.add_implicit_resolver(
    _BOOL_TAG, re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$"), list("tTfF")
)


def compose(text: str) -> Node | None:
    """The node tree of a one-document YAML text (None if it is empty).

    Raises:
        yaml.YAMLError: a syntax error, with `problem_mark`.
    """
    loader = StrictLoader(text)
    try:
        node: Node | None = loader.get_single_node()
    finally:
        loader.dispose()
    if node is not None:
        check_expansion(node)
    return node


_TAB = "a tab: YAML indents with spaces only; replace the tabs with spaces"
_INDENTATION = ("the indentation of this line does not match its neighbours': the keys of one "
                "mapping, and the '- ' items of one list, start in the same column; indent "
                "it as they are")
# How to fix what the parser complains of most, by words of its message (libyaml's wording,
# and pure PyYAML's where it differs). The parser says what it saw; these say what to do.
_SYNTAX_HINTS = (
    ("tab character", _TAB),
    ("mapping values are not allowed",
     "a 'key: value' here continues the line above: indent this line as the keys beside it "
     "(not deeper), put a space after the ':' of the line above, or put a value that holds "
     "': ' in quotes"),
    ("could not find expected ':'",
     "a line of a mapping needs 'key: value': add the ':' after the key, or indent a value "
     "that goes on from the line above under its key"),
    ("did not find expected key", _INDENTATION),
    ("did not find expected '-' indicator", _INDENTATION),
    ("expected <block end>", _INDENTATION),
    ("did not find expected ','", "a '[' or '{' is not closed: close it, and separate its items "
                                  "with ', '"),
    ("expected ',' or", "a '[' or '{' is not closed: close it, and separate its items with ', '"),
    ("found undefined alias", "'*' starts an alias of an anchor ('&name') defined before it; "
                              "put a value that starts with '*' in quotes"),
    ("found unknown escape character", "in double quotes a backslash starts an escape: write "
                                       "\\\\ for a backslash, or use single quotes"),
    ("expected a single document", "a job file holds one YAML document: remove the '---' "
                                   "line, or move what follows it to a file of its own"),
)


def syntax_error(error: yaml.YAMLError, text: str) -> tuple[tuple[int, int] | None, str]:
    """Where the syntax error `error` of `text` is (1-based line and column; None when the
    parser does not say) and what to say: what the parser saw, and for the common mistakes
    how to fix it (a tab, a value starting with a reserved character, a quote never closed,
    a line indented unlike its neighbours, a missing space after ':', an unclosed bracket).
    A quote never closed is reported where it opens, not at the end of the file."""
    problem = getattr(error, "problem", None) or str(error)
    context = getattr(error, "context", None)
    mark = getattr(error, "problem_mark", None)
    said = f"{context or ''} {problem}"
    if "cannot start any token" in said:
        found = _character_at(text, mark)
        hint = _TAB if found == "\t" else (
            f"a plain value cannot start with {found!r}: put the value in quotes" if found else "")
    elif "end of stream" in said and "quoted scalar" in said:
        mark = getattr(error, "context_mark", None) or mark
        hint = "this quote is never closed: close it (inside single quotes, write a quote as '')"
    else:
        hint = next((hint for words, hint in _SYNTAX_HINTS if words in said), "")
    where = (mark.line + 1, mark.column + 1) if mark is not None else None
    return where, (f"invalid YAML: {problem}" + (f" ({context})" if context else "")
                   + (f"; {hint}" if hint else ""))


def _character_at(text: str, mark: yaml.Mark | None) -> str:
    """The character at `mark` in `text` ("" past a line's end)."""
    lines = text.splitlines()
    if mark is None or mark.line >= len(lines) or mark.column >= len(lines[mark.line]):
        return ""
    return lines[mark.line][mark.column]


# Bounds on what a document may expand to through its aliases, checked on the node graph
# before anything is built from it: nine levels of nine-fold aliases are 10 kB of text and
# 387 million nodes once expanded ("billion laughs"). Real job files are far below them.
MAX_EXPANDED_NODES = 1_000_000
MAX_DEPTH = 200
MAX_ALIASES = 10_000


def check_expansion(root: Node) -> None:
    """Refuse a node graph that would expand past the bounds, or that refers to itself.

    Raises:
        yaml.MarkedYAMLError: at the node where a bound is crossed.
    """
    size: dict[int, int] = {}
    depth: dict[int, int] = {}
    aliases = 0
    stack: list[tuple[Node, bool]] = [(root, False)]
    while stack:
        node, children_done = stack.pop()
        if children_done:
            kids = _children(node)
            size[id(node)] = 1 + sum(size[id(kid)] for kid in kids)
            depth[id(node)] = 1 + max((depth[id(kid)] for kid in kids), default=0)
            if size[id(node)] > MAX_EXPANDED_NODES:
                raise _too_large(node, f"with its aliases expanded, this value holds more "
                                       f"than {MAX_EXPANDED_NODES:,} values{_SIMPLIFY}")
            if depth[id(node)] > MAX_DEPTH:
                raise _too_large(node, f"values are nested more than {MAX_DEPTH} deep"
                                       f"{_SIMPLIFY}")
            continue
        if id(node) in size:  # built already: this is an alias to it
            aliases += 1
            if aliases > MAX_ALIASES:
                raise _too_large(node, f"more than {MAX_ALIASES:,} aliases{_SIMPLIFY}")
            continue
        if id(node) in depth:  # on the path from the root: the value contains itself
            raise _too_large(node, "an alias refers to a value that contains it, which "
                                   "would make it endless; remove the alias")
        depth[id(node)] = 0  # on the path, until its children are done
        stack.append((node, True))
        stack.extend((kid, False) for kid in _children(node))


def _children(node: Node) -> list[Node]:
    if isinstance(node, MappingNode):
        return [part for pair in node.value for part in pair]
    if isinstance(node, SequenceNode):
        return list(node.value)
    return []


_SIMPLIFY = "; a job file that expands this far is refused (simplify its anchors and aliases)"


def _too_large(node: Node, problem: str) -> yaml.MarkedYAMLError:
    return yaml.MarkedYAMLError(problem=problem, problem_mark=node.start_mark)


def construct(node: Node, *, check: bool = True) -> object:
    """Python data of a node tree composed by `compose`.

    With `check=False` the caller has run `scan` itself and wants the data anyway, to report
    the other problems of the file too: the last of duplicate keys wins and yes/no stay text.

    Raises:
        StrictYamlError: with `check`, listing every duplicate key and ambiguous boolean.
    """
    loader = StrictLoader("")
    try:
        if check:
            return loader.construct_document(node)
        return _BaseLoader.construct_document(loader, node)
    finally:
        loader.dispose()


def scan(root: Node) -> list[YamlIssue]:
    """Every duplicate key and unquoted yes/no/on/off value in the tree under `root`.

    A mapping key is a name, never a boolean (YAML 1.2, which the Databricks CLI reads, agrees):
    a variable or parameter may be called `n` or `y`.
    """
    issues: list[YamlIssue] = []
    keys: set[int] = set()
    for path, node in _walk(root):
        if isinstance(node, MappingNode):
            issues.extend(_duplicate_keys(path, node))
            keys.update(id(key) for key, _ in node.value)
        elif _is_ambiguous_boolean(node) and id(node) not in keys:
            issues.append(_issue(node, path, _ambiguous_message(node)))
    return sorted(issues, key=lambda issue: (issue.line, issue.column))


NodePath = tuple[str | int, ...]


def _walk(root: Node) -> Iterator[tuple[NodePath, Node]]:
    """Every node once (aliases share nodes), with its path; keys are visited too."""
    seen: set[int] = set()
    stack: list[tuple[NodePath, Node]] = [((), root)]
    while stack:
        path, node = stack.pop()
        if id(node) in seen:
            continue
        seen.add(id(node))
        yield path, node
        if isinstance(node, MappingNode):
            for key, value in reversed(node.value):
                child = (*path, str(key.value) if isinstance(key, ScalarNode) else "?")
                stack.extend([(child, value), (child, key)])
        elif isinstance(node, SequenceNode):
            items = list(enumerate(node.value))
            stack.extend(((*path, i), item) for i, item in reversed(items))


def _duplicate_keys(path: NodePath, node: MappingNode) -> Iterator[YamlIssue]:
    first_seen: dict[str, Node] = {}
    for key, _ in node.value:
        if not isinstance(key, ScalarNode) or key.value == _MERGE_KEY:
            continue
        first = first_seen.setdefault(key.value, key)
        if first is not key:
            line, column = first.start_mark.line + 1, first.start_mark.column + 1
            yield _issue(
                key,
                (*path, key.value),
                f"duplicate key {key.value!r} (first at line {line}, column {column}); "
                "keep only one of them",
            )


def _is_ambiguous_boolean(node: Node) -> bool:
    return (
        isinstance(node, ScalarNode)
        and not node.style  # plain: None from the Python parser, "" from the C one
        and node.tag == _STR_TAG
        and str(node.value).lower() in AMBIGUOUS_BOOLEANS
    )


def _ambiguous_message(node: Node) -> str:
    word = str(node.value)
    return (
        f"{word!r} is ambiguous: YAML 1.1 reads it as a boolean; write true or false for a "
        f'boolean, or quote it ("{word}") for the text'
    )


def _issue(node: Node, path: NodePath, message: str) -> YamlIssue:
    return YamlIssue(node.start_mark.line + 1, node.start_mark.column + 1, path, message)


def find_node(root: Node, parts: Sequence[str | int], *, key: bool = False) -> Node:
    """The deepest node along `parts` (mapping keys and list indexes) from `root`.

    With `key=True` and a complete match ending on a mapping key, returns the key's node, so
    an unknown field is reported where its name is written.
    """
    node = root
    for index, part in enumerate(parts):
        child = _child(node, part, key=key and index == len(parts) - 1)
        if child is None:
            return node
        node = child
    return node


def _child(node: Node, part: str | int, *, key: bool) -> Node | None:
    if isinstance(node, MappingNode):
        for key_node, value_node in node.value:
            if isinstance(key_node, ScalarNode) and key_node.value == str(part):
                return key_node if key else value_node
    elif isinstance(node, SequenceNode) and isinstance(part, int) and part < len(node.value):
        item: Node = node.value[part]
        return item
    return None


def holds_anchors(root: Node, key: str) -> bool:
    """True if the top-level section `key` holds a node that another section uses too (an
    anchor with its aliases: the composer makes them one node)."""
    if not isinstance(root, MappingNode):
        return False
    inside: set[int] = set()
    elsewhere: set[int] = set()
    for key_node, value in root.value:
        ids = {id(node) for _, node in _walk(value)}
        if isinstance(key_node, ScalarNode) and key_node.value == key:
            inside |= ids
        else:
            elsewhere |= ids
    return bool(inside & elsewhere)


def position(node: Node) -> tuple[int, int]:
    """1-based line and column where `node` starts."""
    return node.start_mark.line + 1, node.start_mark.column + 1

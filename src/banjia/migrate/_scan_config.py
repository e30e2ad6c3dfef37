"""Config files: ``.env``, YAML (compose, Kubernetes, CI), TOML and JSON.

Each format is read by a real parser, so comments are never findings and every value is known
with the line it sits on. TOML and JSON come with small tokenizers because the standard library
parsers forget positions; the files are still validated with :mod:`tomllib` and :mod:`json`.
"""

from __future__ import annotations

import json
import re
import tomllib
from collections.abc import Iterator
from dataclasses import dataclass

import yaml

from banjia.migrate._scan_rules import Hit, env_refs, has_openai_key_component, is_model, openai_urls

__all__ = [
    "EnvEntry",
    "Token",
    "json_tokens",
    "parse_env",
    "scan_env",
    "scan_json",
    "scan_toml",
    "scan_yaml",
    "toml_tokens",
]


def _value_hits(text: str, line: int) -> Iterator[Hit]:
    if is_model(text):
        yield Hit(line, "model", text)
    for ref in env_refs(text):
        yield Hit(line, "env", ref)
    for url in openai_urls(text):
        yield Hit(line, "endpoint", url)


def _key_hits(key: str, line: int, scalar: bool) -> Iterator[Hit]:
    # A key holding a mapping is a section header (`openai:`), not a setting.
    if scalar and has_openai_key_component(key):
        yield Hit(line, "env", key)
    if is_model(key):
        yield Hit(line, "model", key)


def _assignment_hits(text: str, line: int) -> Iterator[Hit]:
    """A `KEY=VALUE` string (compose list form) or a plain value."""
    m = re.fullmatch(r"([A-Za-z_][A-Za-z0-9_.]*)=(.*)", text, re.DOTALL)
    if m is None:
        yield from _value_hits(text, line)
        return
    yield from _key_hits(m.group(1), line, True)
    yield from _value_hits(m.group(2), line)


# -- .env ---------------------------------------------------------------------------------------

@dataclass(frozen=True)
class EnvEntry:
    key: str
    value: str
    line: int  # 1-based line of the key
    end_line: int  # last line of the value (quoted values may span lines)


_ENV_LINE = re.compile(r"\s*(?:export\s+)?([A-Za-z_][A-Za-z0-9_.-]*)\s*=\s*(.*)")


def parse_env(text: str) -> list[EnvEntry]:
    """`KEY=VALUE` entries in dotenv syntax: quotes, `export`, comments, multi-line values."""
    lines = text.splitlines()
    entries: list[EnvEntry] = []
    i = 0
    while i < len(lines):
        m = _ENV_LINE.fullmatch(lines[i])
        start = i
        i += 1
        if m is None:
            continue
        key, rest = m.group(1), m.group(2)
        if rest[:1] in ("'", '"'):
            quote = rest[0]
            body = rest[1:]
            while _closing_quote(body, quote) < 0 and i < len(lines):
                body += "\n" + lines[i]
                i += 1
            end = _closing_quote(body, quote)
            value = body[:end] if end >= 0 else body
            if quote == '"':
                value = value.replace('\\"', '"').replace("\\n", "\n")
        else:
            value = re.split(r"\s+#", rest, maxsplit=1)[0].strip()
        entries.append(EnvEntry(key, value, start + 1, i))
    return entries


def _closing_quote(body: str, quote: str) -> int:
    j = 0
    while j < len(body):
        if body[j] == "\\" and quote == '"':
            j += 2
            continue
        if body[j] == quote:
            return j
        j += 1
    return -1


def scan_env(text: str) -> list[Hit]:
    hits: list[Hit] = []
    for e in parse_env(text):
        hits.extend(_key_hits(e.key, e.line, True))
        hits.extend(_value_hits(e.value, e.line))
    return hits


# -- YAML ---------------------------------------------------------------------------------------

def scan_yaml(text: str) -> list[Hit]:
    """Raises yaml.YAMLError when the file is not YAML (Helm templates, for one)."""
    lines = text.splitlines()
    hits: list[Hit] = []
    seen: set[int] = set()
    # all documents stay alive while walking: `seen` holds node ids, which must not be reused
    for doc in list(yaml.compose_all(text, Loader=yaml.SafeLoader)):
        if doc is not None:
            _yaml_node(doc, lines, hits, seen)
    return hits


def _yaml_scalar(node: yaml.ScalarNode, lines: list[str], as_item: bool) -> Iterator[Hit]:
    start, end = node.start_mark, node.end_mark
    first = start.line + 1
    if start.line == end.line or (end.line == start.line + 1 and end.column == 0):
        yield from (_assignment_hits if as_item else _value_hits)(node.value, first)
        return
    # A multi-line value (a `run: |` script, say): each line answers for itself.
    stripped = node.value.strip()
    if is_model(stripped):
        yield Hit(first if node.style not in ("|", ">") else first + 1, "model", stripped)
    stop = end.line if end.column else end.line - 1
    begin = start.line + 1 if node.style in ("|", ">") else start.line
    for row in range(begin, min(stop, len(lines) - 1) + 1):
        for ref in env_refs(lines[row]):
            yield Hit(row + 1, "env", ref)
        for url in openai_urls(lines[row]):
            yield Hit(row + 1, "endpoint", url)


def _yaml_node(node: yaml.Node, lines: list[str], hits: list[Hit], seen: set[int]) -> None:
    if id(node) in seen:  # an alias points at a node already visited
        return
    seen.add(id(node))
    if isinstance(node, yaml.MappingNode):
        for key, value in node.value:
            if isinstance(key, yaml.ScalarNode):
                scalar = isinstance(value, yaml.ScalarNode)
                hits.extend(_key_hits(key.value, key.start_mark.line + 1, scalar))
            else:
                _yaml_node(key, lines, hits, seen)
            if isinstance(value, yaml.ScalarNode):
                hits.extend(_yaml_scalar(value, lines, as_item=False))
            else:
                _yaml_node(value, lines, hits, seen)
    elif isinstance(node, yaml.SequenceNode):
        for item in node.value:
            if isinstance(item, yaml.ScalarNode):
                hits.extend(_yaml_scalar(item, lines, as_item=True))
            else:
                _yaml_node(item, lines, hits, seen)
    elif isinstance(node, yaml.ScalarNode):
        hits.extend(_yaml_scalar(node, lines, as_item=False))


# -- tokens shared by TOML and JSON --------------------------------------------------------------

@dataclass(frozen=True)
class Token:
    kind: str  # "str", "punct", "bare" or "nl"
    text: str  # the source text
    value: str  # decoded, for strings
    line: int
    start: int  # offsets into the source
    end: int


def _skip_comment(text: str, i: int, block: bool) -> int:
    if block:
        end = text.find("*/", i + 2)
        return len(text) if end < 0 else end + 2
    end = text.find("\n", i)
    return len(text) if end < 0 else end


def _string_end(text: str, i: int, quote: str, escapes: bool) -> int:
    j = i + len(quote)
    while j < len(text):
        if escapes and text[j] == "\\":
            j += 2
            continue
        if text.startswith(quote, j):
            # `""""` closes a multi-line string with a quote inside it
            while len(quote) == 3 and text.startswith(quote, j + 1):
                j += 1
            return j + len(quote)
        if len(quote) == 1 and text[j] == "\n":
            break
        j += 1
    raise ValueError(f"unterminated string at offset {i}")


# -- JSON ---------------------------------------------------------------------------------------

_JSON_BARE = re.compile(r"[^\s{}\[\]:,\"/]+")


def json_tokens(text: str) -> list[Token]:
    """Tokens of JSON, tolerating the comments and trailing commas of JSONC (tsconfig.json)."""
    tokens: list[Token] = []
    i, line = 0, 1
    while i < len(text):
        c = text[i]
        if c == "\n":
            line += 1
            i += 1
        elif c in " \t\r\ufeff":
            i += 1
        elif text.startswith("//", i) or text.startswith("/*", i):
            end = _skip_comment(text, i, text[i + 1] == "*")
            line += text.count("\n", i, end)
            i = end
        elif c == '"':
            end = _string_end(text, i, '"', True)
            raw = text[i:end]
            tokens.append(Token("str", raw, json.loads(raw), line, i, end))
            i = end
        elif c in "{}[]:,":
            tokens.append(Token("punct", c, c, line, i, i + 1))
            i += 1
        else:
            m = _JSON_BARE.match(text, i)
            if m is None:
                raise ValueError(f"unexpected {c!r} on line {line}")
            tokens.append(Token("bare", m.group(0), m.group(0), line, i, m.end()))
            i = m.end()
    # trailing commas are JSONC, not JSON; drop them before validating
    kept = [t for k, t in enumerate(tokens)
            if not (t.text == "," and k + 1 < len(tokens) and tokens[k + 1].text in "}]")]
    json.loads(" ".join(t.text for t in kept))
    return tokens


def scan_json(text: str) -> list[Hit]:
    tokens = json_tokens(text)
    hits: list[Hit] = []
    for k, t in enumerate(tokens):
        if t.kind != "str":
            continue
        is_key = k + 1 < len(tokens) and tokens[k + 1].text == ":"
        if is_key:
            scalar = k + 2 < len(tokens) and tokens[k + 2].text not in "{["
            hits.extend(_key_hits(t.value, t.line, scalar))
        else:
            hits.extend(_value_hits(t.value, t.line))
    return hits


# -- TOML ---------------------------------------------------------------------------------------

_TOML_BARE = re.compile(r"[A-Za-z0-9_+\-:]+")


def toml_tokens(text: str) -> list[Token]:
    """Tokens of a TOML file (validated with tomllib first)."""
    tomllib.loads(text)
    tokens: list[Token] = []
    i, line = 0, 1
    while i < len(text):
        c = text[i]
        if c == "\n":
            tokens.append(Token("nl", c, c, line, i, i + 1))
            line += 1
            i += 1
        elif c in " \t\r\ufeff":
            i += 1
        elif c == "#":
            i = _skip_comment(text, i, False)
        elif c in "\"'":
            quote = c * 3 if text.startswith(c * 3, i) else c
            end = _string_end(text, i, quote, c == '"')
            raw = text[i:end]
            value = tomllib.loads(f"v = {raw}")["v"]
            tokens.append(Token("str", raw, value, line, i, end))
            line += raw.count("\n")
            i = end
        elif c in "[]{}=,.":
            tokens.append(Token("punct", c, c, line, i, i + 1))
            i += 1
        else:
            m = _TOML_BARE.match(text, i)
            end = m.end() if m else i + 1
            tokens.append(Token("bare", text[i:end], text[i:end], line, i, end))
            i = end
    return tokens


@dataclass
class _TomlWalker:
    tokens: list[Token]
    hits: list[Hit]
    pos: int = 0

    def peek(self, skip_nl: bool = False) -> Token | None:
        while skip_nl and self.pos < len(self.tokens) and self.tokens[self.pos].kind == "nl":
            self.pos += 1
        return self.tokens[self.pos] if self.pos < len(self.tokens) else None

    def key(self) -> tuple[list[str], int]:
        parts: list[str] = []
        line = 0
        while (t := self.peek()) is not None and t.text not in ("=", "]"):
            if t.text != ".":
                parts.append(t.value)
                line = t.line
            self.pos += 1
        return parts, line

    def run(self) -> None:
        table: list[str] = []
        while (t := self.peek(skip_nl=True)) is not None:
            if t.text == "[":
                while (t := self.peek()) is not None and t.text == "[":
                    self.pos += 1
                table, _ = self.key()
                while (t := self.peek()) is not None and t.kind != "nl":
                    self.pos += 1
            else:
                self.pair(table)

    def pair(self, table: list[str]) -> None:
        parts, line = self.key()
        self.pos += 1  # "="
        path = [*table, *parts]
        muted = any("dependencies" in p.lower() or p in ("build-system", "dependency-groups")
                    for p in path)
        value = self.peek()
        scalar = value is not None and value.text != "{"
        if parts and not muted:
            self.hits.extend(_key_hits(parts[-1], line, scalar))
        self.value(path, muted)

    def value(self, path: list[str], muted: bool) -> None:
        t = self.peek(skip_nl=True)
        if t is None:
            return
        if t.text == "[":
            self.pos += 1
            while (t := self.peek(skip_nl=True)) is not None and t.text != "]":
                if t.text == ",":
                    self.pos += 1
                else:
                    self.value(path, muted)
            self.pos += 1
        elif t.text == "{":
            self.pos += 1
            while (t := self.peek()) is not None and t.text != "}":
                if t.text == ",":
                    self.pos += 1
                elif muted:
                    self._skip_pair()
                else:
                    self.pair(path)
            self.pos += 1
        else:
            while (t := self.peek()) is not None and t.kind != "nl" and t.text not in ",]}":
                if t.kind == "str" and not muted:
                    self.hits.extend(_value_hits(t.value, t.line))
                self.pos += 1

    def _skip_pair(self) -> None:
        self.key()
        self.pos += 1
        self.value([], True)


def scan_toml(text: str) -> list[Hit]:
    hits: list[Hit] = []
    _TomlWalker(toml_tokens(text), hits).run()
    return hits

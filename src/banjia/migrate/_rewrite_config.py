"""Config rewriting: ``.env``, YAML (compose, Kubernetes), TOML and JSON.

The parsers locate each key and value; the edits replace exactly those characters, so comments,
quoting and layout stay as written. Environment files and container environments also gain an
``OPENAI_BASE_URL`` next to their ``OPENAI_API_KEY``, the preferred way to reach the gateway:
openai>=1 clients read it without any code change.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

import yaml

from banjia.migrate._rewrite_rules import BASE_URL_VAR, KEY_VAR, Rules
from banjia.migrate._scan_config import json_tokens, parse_env, toml_tokens

__all__ = ["rewrite_env", "rewrite_json", "rewrite_toml", "rewrite_yaml"]

Edit = tuple[int, int, str]  # [start, end) of the source replaced by the text


def _apply(text: str, edits: Iterable[Edit]) -> str:
    out = text
    for start, end, new in sorted(edits, key=lambda e: (e[0], e[1]), reverse=True):
        out = out[:start] + new + out[end:]
    return out


def _newline(text: str) -> str:
    return "\r\n" if "\r\n" in text else "\n"


_WORD = re.compile(r"\$\{?([A-Za-z_][A-Za-z0-9_]*)\b")


def _value(key: str, value: str, rules: Rules) -> str | None:
    """The new value of a ``key: value`` setting (``key`` as renamed), or None to keep it."""
    if key == BASE_URL_VAR and (rules.add_base_url or value):
        return rules.base_url if value != rules.base_url else None
    if key in rules.set_values and "$" not in value:
        # the app's own base-URL setting (`OPENAI_API_BASE_URL`, `BASE_URL`): the gateway, as
        # a host alone when the app appends /v1 itself
        wanted = rules.set_values[key]
        return wanted if value != wanted else None
    if key == "OPENAI_API_TYPE" and value.lower().startswith("azure"):
        return "openai"
    literal = rules.literal(value)
    if literal is not None:
        return literal
    # `${AZURE_OPENAI_API_KEY}` follows the variable it reads
    moved = _WORD.sub(lambda m: m.group(0).replace(m.group(1), rules.renames.get(
        m.group(1), m.group(1))), value)
    return moved if moved != value else None


@dataclass
class _Renamer:
    """Renames legacy and Azure variables unless their new name is set alongside already."""

    renames: Mapping[str, str]
    taken: set[str] = field(default_factory=set)

    def __call__(self, key: str) -> str | None:
        new = self.renames.get(key)
        if new is None or new in self.taken:
            return None
        self.taken.add(new)
        return new


# -- .env ---------------------------------------------------------------------------------------

_ENV_ASSIGN = re.compile(r"(\s*(?:export\s+)?)([A-Za-z_][A-Za-z0-9_.-]*)(\s*=\s*)(.*)")


def _env_value_span(rest: str) -> tuple[int, int]:
    """Where the value sits in what follows ``=``: inside its quotes, or before a comment."""
    if rest[:1] in ("'", '"'):
        end = rest.find(rest[0], 1)
        return (1, end) if end > 0 else (1, len(rest))
    m = re.search(r"\s+#", rest)
    end = m.start() if m else len(rest)
    return 0, len(rest[:end].rstrip())


def rewrite_env(text: str, rules: Rules) -> str:
    lines = text.splitlines(keepends=True)
    entries = parse_env(text)
    rename = _Renamer(rules.renames, {e.key for e in entries})
    final_keys: list[str] = []
    api_key_line: tuple[int, str] | None = None  # (line index, prefix) of OPENAI_API_KEY
    for e in entries:
        new_key = rename(e.key)
        key = new_key or e.key
        final_keys.append(key)
        index = e.line - 1
        m = _ENV_ASSIGN.fullmatch(lines[index].rstrip("\r\n"))
        if m is None:
            continue
        prefix, _, sep, rest = m.groups()
        if key == KEY_VAR:
            api_key_line = (e.end_line - 1, prefix)
        new_value = _value(key, e.value, rules) if e.line == e.end_line else None
        if new_key is None and new_value is None:
            continue
        if new_value is not None:
            start, end = _env_value_span(rest)
            rest = rest[:start] + new_value + rest[end:]
        ending = lines[index][len(lines[index].rstrip("\r\n")):]
        lines[index] = f"{prefix}{key}{sep}{rest}{ending}"
    if api_key_line is not None and BASE_URL_VAR not in final_keys and rules.add_base_url:
        index, prefix = api_key_line
        nl = _newline(text)
        if not lines[index].endswith(("\n", "\r")):
            lines[index] += nl
        lines.insert(index + 1, f"{prefix}{BASE_URL_VAR}={rules.base_url}{nl}")
    return "".join(lines)


# -- YAML ---------------------------------------------------------------------------------------

def _scalar_text(node: yaml.ScalarNode, text: str) -> str:
    if node.style == "'":
        return "'" + text.replace("'", "''") + "'"
    if node.style == '"':
        return json.dumps(text)
    return text


def _line_start(text: str, line: int) -> int:
    """Offset of the start of 0-based ``line`` (the end of the text past the last line)."""
    offset = 0
    for _ in range(line):
        nl = text.find("\n", offset)
        if nl < 0:
            return len(text)
        offset = nl + 1
    return offset


def _last_scalar(node: yaml.Node) -> yaml.Node:
    # a block collection ends where the next token starts; its last scalar ends where it ends
    while isinstance(node, yaml.MappingNode | yaml.SequenceNode) and node.value:
        last = node.value[-1]
        node = last[1] if isinstance(node, yaml.MappingNode) else last
    return node


def _after(text: str, node: yaml.Node) -> int:
    """The offset where a line following ``node`` can be inserted."""
    end = _last_scalar(node).end_mark
    last = end.line if end.column else end.line - 1
    return _line_start(text, last + 1)


def _dash_indent(text: str, node: yaml.Node) -> str | None:
    """The indentation of the ``-`` that introduces a block sequence item."""
    start = _line_start(text, node.start_mark.line)
    before = text[start:start + node.start_mark.column]
    stripped = before.rstrip()
    if not stripped.endswith("-") or stripped[:-1].strip():
        return None
    return " " * (len(stripped) - 1)


class _YamlRewriter:
    def __init__(self, text: str, rules: Rules) -> None:
        self.text = text
        self.rules = rules
        self.edits: list[Edit] = []
        self.nl = _newline(text)

    def run(self) -> str:
        for doc in list(yaml.compose_all(self.text, Loader=yaml.SafeLoader)):
            if doc is not None:
                self.node(doc, parent_keys=set(), key="")
        return _apply(self.text, self.edits)

    def replace(self, node: yaml.ScalarNode, new: str) -> None:
        if node.style in ("|", ">") or node.start_mark.line != node.end_mark.line:
            return  # block and multi-line scalars are prose or scripts, not settings
        at = node.start_mark.index
        if at == node.end_mark.index:
            # an empty value (`OPENAI_API_BASE_URL:`) gets one, after the colon's space
            if node.tag == "tag:yaml.org,2002:null" and node.style is None:
                self.edits.append((at, at, ("" if self.text[at - 1:at].isspace() else " ") + new))
            return
        self.edits.append((at, node.end_mark.index, _scalar_text(node, new)))

    def insert(self, offset: int, line: str) -> None:
        prefix = "" if offset == 0 or self.text[offset - 1] == "\n" else self.nl
        self.edits.append((offset, offset, prefix + line + self.nl))

    def node(self, node: yaml.Node, parent_keys: set[str], key: str) -> None:
        # a container's environment: compose `environment:`, Kubernetes `env:`
        container_env = key in ("environment", "env") and bool(parent_keys & {"image", "build"})
        if isinstance(node, yaml.MappingNode):
            self.mapping(node, container_env)
        elif isinstance(node, yaml.SequenceNode):
            self.sequence(node, container_env)

    def mapping(self, node: yaml.MappingNode, container_env: bool) -> None:
        keys = {k.value for k, _ in node.value if isinstance(k, yaml.ScalarNode)}
        rename = _Renamer(self.rules.renames, set(keys))
        final: set[str] = set()
        api_key_pair: tuple[yaml.ScalarNode, yaml.Node] | None = None
        for k, v in node.value:
            if not isinstance(k, yaml.ScalarNode):
                continue
            new_key = rename(k.value)
            if new_key is not None:
                self.replace(k, new_key)
            name = new_key or k.value
            final.add(name)
            if isinstance(v, yaml.ScalarNode):
                new = _value(name, v.value, self.rules)
                if new is not None:
                    self.replace(v, new)
                if name == KEY_VAR:
                    api_key_pair = (k, v)
            else:
                self.node(v, keys, k.value)
        if container_env and api_key_pair and BASE_URL_VAR not in final and not node.flow_style \
                and self.rules.add_base_url:
            k, v = api_key_pair
            indent = " " * k.start_mark.column
            self.insert(_after(self.text, v), f"{indent}{BASE_URL_VAR}: {self.rules.base_url}")

    def sequence(self, node: yaml.SequenceNode, container_env: bool) -> None:
        items = node.value
        names = [_env_item_name(i) for i in items]
        rename = _Renamer(self.rules.renames, {n for n in names if n})
        api_key_item: yaml.Node | None = None
        final: set[str] = set()
        for item, name in zip(items, names, strict=True):
            if isinstance(item, yaml.ScalarNode):
                new_name = rename(name) if name else None
                self.env_item(item, new_name)
            elif isinstance(item, yaml.MappingNode):
                new_name = rename(name) if name else None
                self.k8s_env_item(item, new_name)
            else:
                self.node(item, set(), "")
                continue
            if name:
                final.add(new_name or name)
                if (new_name or name) == KEY_VAR:
                    api_key_item = item
        if not (container_env and api_key_item is not None and BASE_URL_VAR not in final
                and self.rules.add_base_url):
            return
        dash = _dash_indent(self.text, api_key_item)
        if dash is None or node.flow_style:
            return
        at = _after(self.text, api_key_item)
        if isinstance(api_key_item, yaml.ScalarNode):
            self.insert(at, f"{dash}- {BASE_URL_VAR}={self.rules.base_url}")
        else:
            self.insert(at, f"{dash}- name: {BASE_URL_VAR}{self.nl}"
                            f"{dash}  value: {self.rules.base_url}")

    def env_item(self, item: yaml.ScalarNode, new_name: str | None) -> None:
        """A compose list entry: ``KEY=VALUE``, a bare ``KEY``, or any other list value."""
        key, sep, value = item.value.partition("=")
        if not sep or not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", key):
            new = self.rules.literal(item.value)
            if new is not None:
                self.replace(item, new_name or new)
            return
        name = new_name or key
        new_value = _value(name, value, self.rules)
        if new_name is not None or new_value is not None:
            self.replace(item, f"{name}={value if new_value is None else new_value}")

    def k8s_env_item(self, item: yaml.MappingNode, new_name: str | None) -> None:
        """A Kubernetes ``- name: KEY`` / ``value: VALUE`` entry (or any other mapping)."""
        fields = {k.value: v for k, v in item.value if isinstance(k, yaml.ScalarNode)}
        name_node = fields.get("name")
        for k, v in item.value:
            if not isinstance(k, yaml.ScalarNode):
                continue
            if isinstance(v, yaml.ScalarNode):
                if k.value == "name":
                    if new_name is not None:
                        self.replace(v, new_name)
                    continue
                name = new_name or (name_node.value if isinstance(name_node, yaml.ScalarNode)
                                    else "")
                new = _value(name if k.value == "value" else "", v.value, self.rules)
                if new is not None:
                    self.replace(v, new)
            else:
                self.node(v, set(fields), k.value)


def _env_item_name(item: yaml.Node) -> str | None:
    if isinstance(item, yaml.ScalarNode):
        key = item.value.partition("=")[0]
        return key if re.fullmatch(r"[A-Z_][A-Z0-9_]*", key) else None
    if isinstance(item, yaml.MappingNode):
        for k, v in item.value:
            if isinstance(k, yaml.ScalarNode) and k.value == "name" \
                    and isinstance(v, yaml.ScalarNode):
                return str(v.value)
    return None


def rewrite_yaml(text: str, rules: Rules) -> str:
    return _YamlRewriter(text, rules).run()


# -- TOML and JSON ------------------------------------------------------------------------------

def rewrite_json(text: str, rules: Rules) -> str:
    edits: list[Edit] = []
    for t in json_tokens(text):
        if t.kind == "str" and (new := rules.literal(t.value)) is not None:
            edits.append((t.start, t.end, json.dumps(new, ensure_ascii=False)))
    return _apply(text, edits)


def rewrite_toml(text: str, rules: Rules) -> str:
    edits: list[Edit] = []
    for t in toml_tokens(text):
        if t.kind != "str" or t.text.startswith(('"""', "'''")):
            continue
        new = rules.literal(t.value)
        if new is None or any(c in new for c in "\"'\\\n"):
            continue
        edits.append((t.start, t.end, t.text[0] + new + t.text[0]))
    return _apply(text, edits)

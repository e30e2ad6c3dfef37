"""The file types real apps keep their OpenAI settings in beyond code and plain config
(scan-rules.md, "Extensions (real apps, 2026-12)"): notebooks, Dockerfiles, shell scripts, Vue
single-file components, Terraform and INI files.

Each reader gives findings on the lines of the file as stored. Vue and notebooks reuse the
language scanners: a Vue file's ``<script>`` blocks are kept in place with everything else
blanked out (so byte offsets and lines stay those of the file), and a notebook's code cells are
parsed one by one with each source line mapped back to the notebook line that stores it.
"""

from __future__ import annotations

import json
import re
import shlex
from collections.abc import Iterator
from dataclasses import dataclass

from banjia.migrate._scan_config import Token, json_tokens
from banjia.migrate._scan_config import _key_hits as key_hits
from banjia.migrate._scan_config import _value_hits as value_hits
from banjia.migrate._scan_js import Dialect
from banjia.migrate._scan_rules import Hit, env_refs, has_openai_key_component, literal_hits

__all__ = [
    "NotebookCell",
    "mask_vue",
    "notebook_cells",
    "scan_dockerfile",
    "scan_ini",
    "scan_notebook",
    "scan_shell",
    "scan_terraform",
    "vue_dialect",
]


# -- Dockerfile ---------------------------------------------------------------------------------

_INSTRUCTION = re.compile(r"\s*([A-Za-z]+)\s+(.*)")


def _words(text: str) -> list[str]:
    try:
        return shlex.split(text, comments=False, posix=True)
    except ValueError:  # an unbalanced quote: fall back to plain words
        return text.split()


def _entry_hits(word: str, line: int) -> Iterator[Hit]:
    """``KEY=VALUE`` (or a bare ``KEY``) as a config entry."""
    key, sep, value = word.partition("=")
    if re.fullmatch(r"[A-Za-z_][A-Za-z0-9_.-]*", key):
        yield from key_hits(key, line, True)
        if sep:
            yield from value_hits(value, line)
    else:
        yield from value_hits(word, line)


def scan_dockerfile(text: str) -> list[Hit]:
    """``ENV`` and ``ARG`` entries are config entries; comments are not findings."""
    hits: list[Hit] = []
    instruction = ""
    continued = False
    for n, raw in enumerate(text.splitlines(), 1):
        stripped = raw.strip()
        if not continued and (not stripped or stripped.startswith("#")):
            continue
        body = stripped[:-1] if stripped.endswith("\\") else stripped
        if not continued:
            m = _INSTRUCTION.fullmatch(body)
            instruction = m.group(1).upper() if m else ""
            body = m.group(2) if m else ""
        continued = stripped.endswith("\\")
        if instruction not in ("ENV", "ARG") or body.lstrip().startswith("#"):
            continue
        words = _words(body)
        if instruction == "ENV" and len(words) >= 2 and "=" not in words[0]:
            # the legacy form `ENV KEY value with spaces`
            hits.extend(key_hits(words[0], n, True))
            hits.extend(value_hits(" ".join(words[1:]), n))
            continue
        for word in words:
            hits.extend(_entry_hits(word, n))
    return hits


# -- shell --------------------------------------------------------------------------------------

_ASSIGN = re.compile(r"[A-Za-z_][A-Za-z0-9_]*=")
_DEFAULT = re.compile(r"\$\{[A-Za-z_][A-Za-z0-9_]*:?[-=+?]([^}]*)\}")
_SHELL_KEYWORDS = frozenset({"export", "local", "declare", "readonly", "typeset", "-x", "-r"})


def _shell_line(line: str) -> list[str]:
    try:
        lexer = shlex.shlex(line, posix=True, punctuation_chars=";&|()<>")
        lexer.whitespace_split = True
        lexer.commenters = "#"
        return list(lexer)
    except ValueError:
        return line.split("#", 1)[0].split()


def scan_shell(text: str) -> list[Hit]:
    """Assignments and ``export`` follow the config rules, other words the literal rules,
    ``${VAR:-default}`` both (the variable and its default)."""
    hits: list[Hit] = []
    for n, line in enumerate(text.splitlines(), 1):
        if line.lstrip().startswith("#"):
            continue
        for word in _shell_line(line):
            if word in _SHELL_KEYWORDS:
                continue
            if _ASSIGN.match(word):
                hits.extend(_entry_hits(word, n))
            else:
                hits.extend(literal_hits(word, n))
                hits.extend(Hit(n, "env", ref) for ref in env_refs(word) if ref != word)
            for default in _DEFAULT.findall(word):
                hits.extend(literal_hits(default, n))
    return hits


# -- Terraform ----------------------------------------------------------------------------------

_TF_BLOCK = re.compile(r'\s*[A-Za-z_][\w-]*((?:\s+"[^"]*")+)\s*\{')
_TF_ATTR = re.compile(r'\s*("[^"]+"|[A-Za-z_][\w-]*)\s*=\s*(.*)')
_TF_STRING = re.compile(r'"((?:[^"\\]|\\.)*)"')
_TF_REF = re.compile(r"\b(?:var|local|data|module)\.([A-Za-z_][\w-]*)")
_HEREDOC = re.compile(r"<<-?\s*([A-Za-z_]\w*)\s*$")


def _strip_hcl_comment(line: str, in_block: bool) -> tuple[str, bool]:
    out: list[str] = []
    i = 0
    quoted = False
    while i < len(line):
        if in_block:
            end = line.find("*/", i)
            if end < 0:
                return "".join(out), True
            i, in_block = end + 2, False
            continue
        c = line[i]
        if c == '"' and (i == 0 or line[i - 1] != "\\"):
            quoted = not quoted
        elif not quoted and (c == "#" or line.startswith("//", i)):
            break
        elif not quoted and line.startswith("/*", i):
            in_block = True
            i += 2
            continue
        out.append(c)
        i += 1
    return "".join(out), in_block


def _name_hit(name: str, line: int) -> Iterator[Hit]:
    if has_openai_key_component(name):
        yield Hit(line, "env", name)


def scan_terraform(text: str) -> list[Hit]:
    """A key, block label or reference that is an OpenAI variable name or has an ``openai_``
    component is ``env``; string values follow the config value rules."""
    hits: list[Hit] = []
    in_comment = False
    heredoc: str | None = None
    for n, raw in enumerate(text.splitlines(), 1):
        if heredoc is not None:
            if raw.strip() == heredoc:
                heredoc = None
            else:
                hits.extend(Hit(n, "env", ref) for ref in env_refs(raw))
                hits.extend(literal_hits(raw, n, whole=False))
            continue
        line, in_comment = _strip_hcl_comment(raw, in_comment)
        if not line.strip():
            continue
        block = _TF_BLOCK.match(line)
        if block:
            for label in re.findall(r'"([^"]*)"', block.group(1)):
                hits.extend(_name_hit(label, n))
            continue
        attr = _TF_ATTR.match(line)
        value = line
        if attr:
            hits.extend(_name_hit(attr.group(1).strip('"'), n))
            value = attr.group(2)
        for s in _TF_STRING.findall(value):
            hits.extend(value_hits(s, n))
        for ref in _TF_REF.findall(value):
            hits.extend(_name_hit(ref, n))
        m = _HEREDOC.search(value)
        if m:
            heredoc = m.group(1)
    return hits


# -- INI ----------------------------------------------------------------------------------------

_INI_ENTRY = re.compile(r"\s*([^=:\s\[][^=:]*?)\s*[=:]\s*(.*)")


def scan_ini(text: str) -> list[Hit]:
    """``key = value`` and ``key: value`` entries; a section header is not ``env``."""
    hits: list[Hit] = []
    for n, line in enumerate(text.splitlines(), 1):
        stripped = line.strip()
        if not stripped or stripped[0] in "#;[":
            continue
        if line[:1] in " \t":  # a continuation line of the previous value
            hits.extend(value_hits(stripped, n))
            continue
        m = _INI_ENTRY.fullmatch(line)
        if m is None:
            continue
        hits.extend(key_hits(m.group(1), n, True))
        value = re.split(r"\s+[#;]", m.group(2), maxsplit=1)[0].strip().strip("\"'")
        hits.extend(value_hits(value, n))
    return hits


# -- Vue ----------------------------------------------------------------------------------------

_SCRIPT = re.compile(rb"<script\b([^>]*)>(.*?)</script\s*>", re.DOTALL | re.IGNORECASE)


def vue_dialect(data: bytes) -> Dialect:
    langs = {m.group(1) for m in re.finditer(rb"""lang\s*=\s*["']?(\w+)""", data)}
    if b"tsx" in langs:
        return "tsx"
    return "ts" if b"ts" in langs else "js"


def mask_vue(data: bytes) -> bytes:
    """The ``<script>`` blocks of a Vue file in place, every other byte but newlines a space."""
    out = bytearray(b if b == 0x0A else 0x20 for b in data)
    for m in _SCRIPT.finditer(data):
        out[m.start(2):m.end(2)] = data[m.start(2):m.end(2)]
    return bytes(out)


# -- notebooks ----------------------------------------------------------------------------------

@dataclass(frozen=True)
class NotebookCell:
    """A code cell: its source, the notebook line of each source line, and the string tokens
    that store them (for rewriting)."""

    source: str
    lines: list[int]
    tokens: list[Token]


_MAGIC = re.compile(r"\s*[%!]")


def notebook_cells(text: str) -> list[NotebookCell]:
    """The code cells of a notebook, in order. Raises ValueError when it is not a notebook."""
    tokens = json_tokens(text)
    doc = json.loads(text)
    if not isinstance(doc, dict) or not isinstance(doc.get("cells"), list):
        raise ValueError("not a Jupyter notebook")
    cells: list[NotebookCell] = []
    k = 0
    for cell in doc["cells"]:
        # walk the tokens in step with the cells: each cell's "source" key, then its strings
        while k < len(tokens) and not (tokens[k].kind == "str" and tokens[k].value == "source"
                                       and k + 1 < len(tokens) and tokens[k + 1].text == ":"):
            k += 1
        k += 2
        strings: list[Token] = []
        if k < len(tokens) and tokens[k].text == "[":
            k += 1
            while k < len(tokens) and tokens[k].text != "]":
                if tokens[k].kind == "str":
                    strings.append(tokens[k])
                k += 1
        elif k < len(tokens) and tokens[k].kind == "str":
            strings.append(tokens[k])
        if not isinstance(cell, dict) or cell.get("cell_type") != "code":
            continue
        parts: list[str] = []
        lines: list[int] = []
        for t in strings:
            pieces = t.value.split("\n")
            for i, piece in enumerate(pieces):
                if i == len(pieces) - 1 and not piece and i:
                    break
                parts.append(piece)
                lines.append(t.line)
        source = "\n".join("" if _MAGIC.match(p) else p for p in parts)
        cells.append(NotebookCell(source, lines, strings))
    return cells


def scan_notebook(text: str) -> list[Hit]:
    """Code cells are Python; markdown cells are prose. A cell that does not parse is skipped."""
    from banjia.migrate._scan_python import scan_python

    hits: list[Hit] = []
    for cell in notebook_cells(text):
        try:
            found = scan_python(cell.source.encode("utf-8"))
        except (SyntaxError, ValueError):
            continue
        for h in found:
            line = cell.lines[h.line - 1] if 0 < h.line <= len(cell.lines) else cell.lines[-1]
            hits.append(Hit(line, h.kind, h.detail, h.features))
    return hits

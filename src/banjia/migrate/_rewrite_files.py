"""Rewriting the file types of scan-rules.md's extensions, and the openai pins.

* Vue: the JavaScript rewriter's edits, computed on the file with all but its scripts blanked,
  apply to the file as it is.
* Notebooks: each code cell goes through the Python rewriter; the changed lines go back into the
  JSON strings that store them, so the rest of the notebook keeps its bytes.
* Dockerfiles, shell scripts, Terraform and INI files: OpenAI URLs outside comments move to the
  gateway.
* ``openai==0.27.x`` and other pins that exclude openai>=1 become ``openai>=1.17`` once the code
  is moved to v1 (``DefaultHttpxClient`` came in 1.17).
"""

from __future__ import annotations

import json
import re

from banjia.migrate._rewrite_js import apply_edits, js_edits
from banjia.migrate._rewrite_python import rewrite_python
from banjia.migrate._rewrite_rules import Rules
from banjia.migrate._scan_config import Token
from banjia.migrate._scan_files import mask_vue, notebook_cells, vue_dialect
from banjia.migrate._scan_rules import openai_urls

__all__ = ["V1_SPEC", "rewrite_lines", "rewrite_notebook", "rewrite_pin", "rewrite_vue"]

V1_SPEC = ">=1.17"
_COMMENT = {"dockerfile": "#", "shell": "#", "terraform": "#", "ini": ";"}


def rewrite_vue(text: str, rules: Rules) -> str:
    data = text.encode("utf-8")
    return apply_edits(data, js_edits(mask_vue(data), vue_dialect(data), rules)).decode("utf-8")


def rewrite_lines(text: str, rules: Rules, kind: str) -> str:
    """OpenAI URLs on the lines that are not comments (``#``, ``//``, ``;``) move."""
    marker = _COMMENT.get(kind, "#")
    out: list[str] = []
    for line in text.splitlines(keepends=True):
        stripped = line.lstrip()
        if stripped.startswith((marker, "#", "//")):
            out.append(line)
            continue
        for url in sorted(set(openai_urls(line)), key=len, reverse=True):
            new = rules.literal(url)
            if new is not None:
                line = re.sub(re.escape(url) + r"(?![\w/.-])", new.replace("\\", r"\\"), line)
        out.append(line)
    return "".join(out)


def rewrite_notebook(text: str, rules: Rules) -> str:
    edits: list[tuple[int, int, str]] = []
    for cell in notebook_cells(text):
        if not cell.tokens:
            continue
        try:
            new = rewrite_python(cell.source, rules)
        except Exception:
            continue
        if new == cell.source:
            continue
        old_lines = cell.source.split("\n")
        new_lines = new.split("\n")
        originals = [p for t in cell.tokens for p in _lines(t.value)]
        magic = [i for i, line in enumerate(old_lines) if not line and originals[i:i + 1]
                 and originals[i].strip()[:1] in ("%", "!")]
        if len(new_lines) == len(old_lines):
            for i in magic:
                new_lines[i] = originals[i].rstrip("\n")
            edits.extend(_token_edits(cell.tokens, new_lines))
        elif not magic:
            first, last = cell.tokens[0], cell.tokens[-1]
            start = text.rfind("\n", 0, first.start) + 1
            indent = text[start:first.start] if not text[start:first.start].strip() else ""
            items = [json.dumps(line + ("\n" if i < len(new_lines) - 1 else ""),
                                ensure_ascii=False) for i, line in enumerate(new_lines)]
            edits.append((first.start, last.end, (",\n" + indent).join(items)))
    out = text
    for start, end, new_text in sorted(edits, reverse=True):
        out = out[:start] + new_text + out[end:]
    return out


def _lines(value: str) -> list[str]:
    parts = value.split("\n")
    if len(parts) > 1 and parts[-1] == "":
        parts = parts[:-1]
    return parts


def _token_edits(tokens: list[Token], new_lines: list[str]) -> list[tuple[int, int, str]]:
    edits: list[tuple[int, int, str]] = []
    i = 0
    for t in tokens:
        count = len(_lines(t.value))
        chunk = new_lines[i:i + count]
        i += count
        value = "\n".join(chunk) + ("\n" if t.value.endswith("\n") else "")
        if value != t.value:
            edits.append((t.start, t.end, json.dumps(value, ensure_ascii=False)))
    return edits


_SPEC = re.compile(r"(openai\s*)((?:===|==|~=|<=|<|>=|>|!=)\s*[\w.*]+"
                   r"(?:\s*,\s*(?:===|==|~=|<=|<|>=|>|!=)\s*[\w.*]+)*)", re.IGNORECASE)


def rewrite_pin(text: str, lines: set[int]) -> str:
    """The openai pins on ``lines`` (1-based) become ``openai>=1.17``."""
    out: list[str] = []
    for n, line in enumerate(text.splitlines(keepends=True), 1):
        if n in lines:
            line = _SPEC.sub(lambda m: m.group(1).rstrip() + V1_SPEC, line, count=1)
        out.append(line)
    return "".join(out)

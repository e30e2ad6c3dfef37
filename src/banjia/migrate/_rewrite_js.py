"""JavaScript and TypeScript rewriting: byte-range edits located with the tree-sitter grammars.

Literals move as in Python (gateway URLs, renamed variables, mapped models); ``process.env``
reads follow the renamed variables; ``new AzureOpenAI({...})`` from the ``openai`` package becomes
``new OpenAI({...})`` without its Azure-only options. Everything else keeps its bytes.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from tree_sitter import Node

from banjia.migrate._rewrite_rules import Rules
from banjia.migrate._scan_js import Dialect, parse_js
from banjia.migrate._scan_rules import is_env_name

__all__ = ["apply_edits", "js_edits", "rewrite_js"]

Edit = tuple[int, int, bytes]

_AZURE_ONLY_KEYS = frozenset({"endpoint", "apiVersion", "deployment", "azureADTokenProvider"})
# where a string is data, not a setting: its text must stay (scan-rules.md, extension 6)
_TYPE_NODES = frozenset({"literal_type", "union_type", "type_annotation", "enum_body",
                         "enum_assignment", "type_alias_declaration", "predefined_type",
                         "type_arguments"})
_COMPARISONS = frozenset({"===", "==", "!==", "!="})
_LOOKUPS = frozenset({b"get", b"has", b"includes", b"startsWith", b"endsWith", b"indexOf",
                      b"delete", b"set", b"lastIndexOf"})
_ENV_OBJECTS = frozenset({b"process.env", b"import.meta.env"})
_STATEMENT_PARENTS = frozenset({"program", "statement_block", "class_body", "switch_body"})


def rewrite_js(source: str, dialect: Dialect, rules: Rules) -> str:
    data = source.encode("utf-8")
    return apply_edits(data, js_edits(data, dialect, rules)).decode("utf-8")


def js_edits(data: bytes, dialect: Dialect, rules: Rules) -> list[Edit]:
    """The byte-range edits of a rewrite; none when the parser had to recover, because edits
    inside code the parser could not read would be guesses. A Vue file comes with everything
    but its scripts blanked, so its edits apply to the file as it is."""
    tree = parse_js(data, dialect)
    if tree.root_node.has_error:
        return []
    return _Rewriter(data, rules).run(tree.root_node)


def apply_edits(data: bytes, edits: list[Edit]) -> bytes:
    out = data
    for start, end, new in sorted(edits, key=lambda e: (e[0], e[1]), reverse=True):
        out = out[:start] + new + out[end:]
    return out


def _in_map(pair: Node) -> bool:
    outer = pair.parent
    args = outer.parent if outer is not None and outer.type == "array" else None
    new = args.parent if args is not None and args.type == "arguments" else None
    return new is not None and new.type == "new_expression" and _text(
        new.child_by_field_name("constructor")) == b"Map"


def _is_data(node: Node) -> bool:
    """A string used as data: an object key, a type, an enum member, a compared or looked-up
    value (`m === "gpt-4"`, `map.get(url)`, `obj[url]`). `process.env["X"]` is a setting."""
    parent = node.parent
    if parent is None:
        return False
    if parent.type == "pair" and parent.child_by_field_name("key") == node:
        return True
    if parent.type == "binary_expression" and _text(
            parent.child_by_field_name("operator")).decode() in _COMPARISONS:
        return True
    if parent.type in ("switch_case", "property_signature"):
        return True
    lookup_key = not is_env_name(_text(node)[1:-1].decode("utf-8", "replace"))
    if parent.type == "subscript_expression" and parent.child_by_field_name("index") == node:
        return lookup_key and _text(parent.child_by_field_name("object")) not in _ENV_OBJECTS
    if parent.type == "array" and parent.named_children[:1] == [node] and _in_map(parent):
        return True  # a key of `new Map([[key, value], …])`
    if parent.type == "array" and parent.parent is not None \
            and parent.parent.type == "member_expression" \
            and _text(parent.parent.child_by_field_name("property")) in _LOOKUPS:
        return True  # `["gpt-4", "gpt-4o"].includes(model)`
    if parent.type == "arguments" and parent.parent is not None:
        func = parent.parent.child_by_field_name("function")
        if func is not None and func.type == "member_expression" \
                and _text(func.child_by_field_name("property")) in _LOOKUPS \
                and parent.named_children and parent.named_children[0] == node:
            return lookup_key
    ancestor: Node | None = parent
    while ancestor is not None:
        if ancestor.type in _TYPE_NODES:
            return True
        if ancestor.type in ("statement_block", "program", "class_body", "arguments"):
            break
        ancestor = ancestor.parent
    return False


def _walk(node: Node) -> Iterator[Node]:
    stack = [node]
    while stack:
        n = stack.pop()
        yield n
        stack.extend(reversed(n.children))


def _text(node: Node | None) -> bytes:
    return (node.text or b"") if node is not None else b""


@dataclass(frozen=True)
class _Twin:
    """An Azure export and the plain OpenAI export that replaces it."""

    module: bytes
    plain: bytes
    plain_module: bytes


_TWINS: dict[bytes, _Twin] = {
    b"AzureOpenAI": _Twin(b"openai", b"OpenAI", b"openai"),
    b"createAzure": _Twin(b"@ai-sdk/azure", b"createOpenAI", b"@ai-sdk/openai"),
}
_GATEWAY_FROM_ENV = b"baseURL: process.env.OPENAI_BASE_URL"


class _Rewriter:
    def __init__(self, data: bytes, rules: Rules) -> None:
        self.data = data
        self.rules = rules
        self.edits: list[Edit] = []
        # whole-node replacements and deletions: edits planned inside them are dropped
        self.whole: list[Edit] = []
        self.bound: set[bytes] = set()  # every imported local name
        # unaliased Azure exports imported with ES `import`: local name → its twin
        self.azure_locals: dict[bytes, _Twin] = {}

    def run(self, root: Node) -> list[Edit]:
        nodes = list(_walk(root))
        self.collect_imports(nodes)
        for node in nodes:
            t = node.type
            if t == "string":
                self.string(node)
            elif t == "template_string":
                self.template(node)
            elif t == "member_expression":
                self.env_read(node)
            elif t == "new_expression":
                self.azure_client(node)
            elif t == "call_expression":
                self.azure_provider(node)
            elif t in ("identifier", "type_identifier") and _text(node) in self.azure_locals:
                self.rename_reference(node)
        kept = [e for e in self.edits
                if not any(s <= e[0] and e[1] <= end for s, end, _ in self.whole)]
        return kept + self.whole

    # -- imports ------------------------------------------------------------------------------

    def collect_imports(self, nodes: list[Node]) -> None:
        for node in nodes:
            if node.type != "import_statement":
                continue
            module = _text(node.child_by_field_name("source"))[1:-1]
            for child in _walk(node):
                if child.type == "import_specifier":
                    name = _text(child.child_by_field_name("name"))
                    alias = child.child_by_field_name("alias")
                    self.bound.add(_text(alias) if alias is not None else name)
                    twin = _TWINS.get(name)
                    if twin is not None and twin.module == module and alias is None:
                        self.azure_locals[name] = twin
                elif child.type == "identifier" and child.parent is not None \
                        and child.parent.type in ("import_clause", "namespace_import"):
                    self.bound.add(_text(child))

    def rename_reference(self, node: Node) -> None:
        twin = self.azure_locals[_text(node)]
        spec = node.parent
        if spec is None or spec.type != "import_specifier":
            self.edits.append((node.start_byte, node.end_byte, twin.plain))
            return
        if twin.plain in self.bound:
            return  # the plain export is imported already; the Azure import is left unused
        self.bound.add(twin.plain)
        statement = spec.parent
        while statement is not None and statement.type != "import_statement":
            statement = statement.parent
        source = statement.child_by_field_name("source") if statement is not None else None
        if statement is None or source is None:
            return
        specifiers = [n for n in _walk(statement) if n.type == "import_specifier"]
        if twin.module == twin.plain_module:
            self.edits.append((node.start_byte, node.end_byte, twin.plain))
        elif len(specifiers) == 1 and not any(
                n.type == "identifier" and n.parent is not None
                and n.parent.type in ("import_clause", "namespace_import")
                for n in _walk(statement)):
            self.edits.append((node.start_byte, node.end_byte, twin.plain))
            self.edits.append((source.start_byte + 1, source.end_byte - 1, twin.plain_module))
        else:
            line = self.data.rfind(b"\n", 0, statement.start_byte) + 1
            quote = _text(source)[:1]
            self.edits.append((line, line, b"import { " + twin.plain + b" } from " + quote
                               + twin.plain_module + quote + b";\n"))

    # -- literals -----------------------------------------------------------------------------

    def string(self, node: Node) -> None:
        raw = _text(node)[1:-1]
        if b"\\" in raw or _is_data(node):
            return
        new = self.rules.literal(raw.decode("utf-8"))
        if new is not None and node.text is not None and node.text[:1].decode() not in new:
            self.edits.append((node.start_byte + 1, node.end_byte - 1, new.encode()))

    def template(self, node: Node) -> None:
        if _is_data(node):
            return
        parts = node.named_children
        if not parts or parts[0].type != "string_fragment" \
                or parts[0].start_byte != node.start_byte + 1:
            return
        text = _text(parts[0]).decode("utf-8")
        whole = len(parts) == 1 and parts[0].end_byte == node.end_byte - 1
        new = self.rules.literal(text) if whole else self.rules.url_prefix(text)
        if new is not None and "`" not in new and "${" not in new:
            self.edits.append((parts[0].start_byte, parts[0].end_byte, new.encode()))

    def env_read(self, node: Node) -> None:
        if _text(node.child_by_field_name("object")) not in _ENV_OBJECTS:
            return
        prop = node.child_by_field_name("property")
        new = self.rules.renames.get(_text(prop).decode())
        if prop is not None and new is not None:
            self.edits.append((prop.start_byte, prop.end_byte, new.encode()))

    # -- Azure clients ------------------------------------------------------------------------

    def azure_client(self, node: Node) -> None:
        ctor = node.child_by_field_name("constructor")
        if ctor is None:
            return
        if ctor.type == "member_expression":
            prop = ctor.child_by_field_name("property")
            if _text(prop) != b"AzureOpenAI" or prop is None:
                return
            self.edits.append((prop.start_byte, prop.end_byte, b"OpenAI"))
        elif _text(ctor) not in self.azure_locals or \
                self.azure_locals[_text(ctor)].plain != b"OpenAI":
            return  # identifiers are renamed with the other references
        args = node.child_by_field_name("arguments")
        options = args.named_children[0] if args is not None and args.named_children else None
        if options is None or options.type != "object":
            return
        removed: list[Node] = []
        for pair in options.named_children:
            key = _text(pair.child_by_field_name("key")) if pair.type == "pair" else b""
            if key.decode() not in _AZURE_ONLY_KEYS:
                continue
            value = pair.child_by_field_name("value")
            if key == b"endpoint" and value is not None and value.type == "string":
                # a hard-coded endpoint becomes the gateway (its literal is moved already)
                k = pair.child_by_field_name("key")
                assert k is not None
                self.edits.append((k.start_byte, k.end_byte, b"baseURL"))
                continue
            if key == b"deployment":
                self.note(node, b"requests now name the model, not the Azure deployment")
            removed.append(pair)
        self.remove_properties(options, removed)

    def remove_properties(self, obj: Node, removed: list[Node]) -> None:
        """Delete properties of an object literal, keeping what is left well formed: a property
        alone on its line goes with its line; on a shared line a run of deleted properties goes
        with the separator after it, or (at the end) with the one before it."""
        if not removed:
            return
        elements = [c for c in obj.named_children if c.type != "comment"]
        gone = {(n.start_byte, n.end_byte) for n in removed}
        if all((e.start_byte, e.end_byte) in gone for e in elements):
            self.whole.append((obj.start_byte + 1, obj.end_byte - 1, b""))
            return
        i = 0
        while i < len(elements):
            if (elements[i].start_byte, elements[i].end_byte) not in gone:
                i += 1
                continue
            j = i
            while j + 1 < len(elements) and (elements[j + 1].start_byte,
                                               elements[j + 1].end_byte) in gone:
                j += 1
            spans = [self.line_span(e) for e in elements[i:j + 1]]
            if all(sp is not None for sp in spans):
                self.whole.extend((sp[0], sp[1], b"") for sp in spans if sp is not None)
            elif j + 1 < len(elements):
                self.whole.append((elements[i].start_byte, elements[j + 1].start_byte, b""))
            else:
                self.whole.append((elements[i - 1].end_byte, elements[j].end_byte, b""))
            i = j + 1

    def line_span(self, pair: Node) -> tuple[int, int] | None:
        """The whole line(s) of a property alone on them, with its comma."""
        data = self.data
        start, end = pair.start_byte, pair.end_byte
        after = pair.next_sibling
        if after is not None and after.type == ",":
            end = after.end_byte
        line_start = data.rfind(b"\n", 0, start) + 1
        line_end = data.find(b"\n", end)
        if not data[line_start:start].strip() and line_end >= 0 \
                and not data[end:line_end].strip():
            return line_start, line_end + 1
        return None

    def azure_provider(self, node: Node) -> None:
        """``createAzure({resourceName, apiKey})`` → ``createOpenAI({baseURL, apiKey})``, with
        the gateway read from OPENAI_BASE_URL as the other OpenAI clients do."""
        func = node.child_by_field_name("function")
        twin = self.azure_locals.get(_text(func)) if func is not None else None
        args = node.child_by_field_name("arguments")
        if twin is None or twin.plain != b"createOpenAI" or args is None:
            return
        options = args.named_children[0] if args.named_children else None
        if options is None:
            self.edits.append((args.start_byte + 1, args.end_byte - 1,
                               b"{ " + _GATEWAY_FROM_ENV + b" }"))
            return
        if options.type != "object":
            return
        placed = False
        removed: list[Node] = []
        for pair in options.named_children:
            key = pair.child_by_field_name("key") if pair.type == "pair" else None
            value = pair.child_by_field_name("value") if pair.type == "pair" else None
            if key is None or value is None:
                continue
            if _text(key) == b"baseURL" and not placed:
                self.whole.append((value.start_byte, value.end_byte,
                                   _GATEWAY_FROM_ENV.split(b": ")[1]))
                placed = True
            elif _text(key) == b"resourceName" and not placed:
                self.whole.append((pair.start_byte, pair.end_byte, _GATEWAY_FROM_ENV))
                placed = True
            elif _text(key) in (b"resourceName", b"baseURL", b"apiVersion"):
                removed.append(pair)
        self.remove_properties(options, removed)
        if not placed:
            self.edits.append((options.start_byte + 1, options.start_byte + 1,
                               b" " + _GATEWAY_FROM_ENV + b","))

    def note(self, node: Node, text: bytes) -> None:
        stmt = node
        while stmt.parent is not None and stmt.parent.type not in _STATEMENT_PARENTS:
            stmt = stmt.parent
        line_start = self.data.rfind(b"\n", 0, stmt.start_byte) + 1
        indent = self.data[line_start:stmt.start_byte]
        if indent.strip():
            return
        self.edits.append((line_start, line_start, indent + b"// banjia: " + text + b"\n"))

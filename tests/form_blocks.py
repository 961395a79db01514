"""A small HTML reader for the form-layout tests: the parts of each field block (templates/forms/field.html)
in document order, and the visible controls left outside any block."""

from __future__ import annotations

from html.parser import HTMLParser

VOID = {"input", "br", "img", "meta", "link", "hr"}
INVISIBLE = ("hidden", "submit")


class _FieldBlocks(HTMLParser):
    """The parts of each <div class="field"> in document order, and every visible control outside one."""

    def __init__(self):
        super().__init__()
        self.fields: list[list[str]] = []
        self.loose: list[str] = []
        self._stack: list[tuple[str, bool]] = []  # (tag, opens a field block)

    def _in_field(self) -> bool:
        return any(opens for _, opens in self._stack)

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        classes = (attrs.get("class") or "").split()
        opens = tag == "div" and "field" in classes
        if opens:
            self.fields.append([])
        part = None
        if tag in ("label", "legend"):
            part = "label"
        elif tag in ("select", "textarea") or (tag == "input" and attrs.get("type") not in INVISIBLE):
            part = "control"
        elif tag == "ul" and "errorlist" in classes:
            part = "errors"
        elif tag == "div" and "help" in classes:
            part = "help"
        if part:
            if self._in_field():
                self.fields[-1].append(part)
            elif part == "control":
                self.loose.append(attrs.get("name", tag))
        if tag not in VOID:
            self._stack.append((tag, opens))

    def handle_endtag(self, tag):
        while self._stack:
            open_tag, _ = self._stack.pop()
            if open_tag == tag:
                break


def blocks(html: str) -> _FieldBlocks:
    parser = _FieldBlocks()
    parser.feed(html)
    return parser


def first_of_each(parts: list[str]) -> list[str]:
    seen: list[str] = []
    for part in parts:
        if part not in seen:
            seen.append(part)
    return seen

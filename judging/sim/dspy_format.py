"""Reading the requests DSPy's adapters send, and writing replies they parse.

What DSPy 3.4.1 sends (ChatAdapter and JSONAdapter alike) is a system message of this shape:

    Your input fields are:
    1. `query` (str): <desc>
    2. `document` (str): <desc>
    Your output fields are:
    1. `reasoning` (str): <desc>
    2. `score` (Literal[1, 2, 3, 4, 5]): <desc>
    All interactions will be structured in the following way, with the appropriate values filled in.
    ...
    [[ ## score ## ]]
    {score}        # note: the value you produce must exactly match (no extra characters) one of: 1; 2; ...
    ...
    In adhering to this structure, your objective is:
            <the signature's instructions>

then optional few-shot demo turns, then a user message with the inputs as `[[ ## name ## ]]\\nvalue`
sections followed by "Respond with the corresponding output fields, starting with the field
`[[ ## reasoning ## ]]`, ..." (ChatAdapter) or "Respond with a JSON object in the following order of
fields: ..." (JSONAdapter, whose system message says "Outputs will be a JSON object ...").

ChatAdapter parses `[[ ## field ## ]]` sections of the reply; JSONAdapter parses a JSON object.
"""

from __future__ import annotations

import ast
import json
import re
import textwrap
from dataclasses import dataclass, field
from typing import Any

FIELD_LINE_RE = re.compile(
    r"^\s*\d+\.\s+`(?P<name>[A-Za-z_][A-Za-z0-9_]*)`\s+\((?P<type>.*?)\):(?P<desc>.*)$"
)
SECTION_RE = re.compile(r"\[\[ ## (\w+) ## \]\]")
OBJECTIVE_MARK = "In adhering to this structure, your objective is:"
RESPOND_RE = re.compile(r"\n*\s*Respond with (?:the corresponding output fields|a JSON object)\b.*\Z", re.S)


@dataclass(frozen=True)
class FieldSpec:
    name: str
    type: str
    desc: str = ""

    @property
    def literal_options(self) -> list[Any] | None:
        """The allowed values of a `Literal[...]` field, else None."""
        match = re.fullmatch(r"\s*(?:typing\.)?Literal\[(.*)\]\s*", self.type, re.S)
        if not match:
            return None
        try:
            values = ast.literal_eval("(" + match.group(1) + ",)")
        except (ValueError, SyntaxError):
            return [v.strip().strip("'\"") for v in match.group(1).split(",") if v.strip()]
        return list(values)

    @property
    def base_type(self) -> str:
        return self.type.split("[", 1)[0].strip().lower()


@dataclass
class DSPyRequest:
    """One adapter-formatted request, reduced to what a simulator needs."""

    system: str
    input_fields: list[FieldSpec]
    output_fields: list[FieldSpec]
    instructions: str
    values: dict[str, str]
    style: str  # "chat" or "json"
    extra: dict[str, Any] = field(default_factory=dict)

    def output(self, name: str) -> FieldSpec | None:
        return next((f for f in self.output_fields if f.name == name), None)


def message_text(content: Any) -> str:
    """OpenAI-style content (a string or a list of parts) as plain text."""
    if content is None:
        return ""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        texts = []
        for part in content:
            if isinstance(part, dict):
                texts.append(str(part.get("text") or ""))
            else:
                texts.append(str(getattr(part, "text", "") or ""))
        return "".join(texts)
    return str(content)


def split_system(messages: list[dict[str, str]]) -> tuple[str, list[dict[str, str]]]:
    system = "\n\n".join(m["content"] for m in messages if m["role"] in ("system", "developer"))
    rest = [m for m in messages if m["role"] not in ("system", "developer")]
    return system, rest


def _parse_field_block(system: str, header: str, stop_headers: tuple[str, ...]) -> list[FieldSpec]:
    start = system.find(header)
    if start < 0:
        return []
    block = system[start + len(header) :]
    ends = [block.find(h) for h in stop_headers if block.find(h) >= 0]
    if ends:
        block = block[: min(ends)]
    fields = []
    for line in block.splitlines():
        match = FIELD_LINE_RE.match(line)
        if match:
            fields.append(FieldSpec(match["name"], match["type"].strip(), match["desc"].strip()))
    return fields


def parse_sections(text: str) -> dict[str, str]:
    """`[[ ## name ## ]]` sections of a message, name -> stripped value."""
    parts = SECTION_RE.split(text)
    values: dict[str, str] = {}
    for i in range(1, len(parts) - 1, 2):
        values[parts[i]] = parts[i + 1].strip()
    return values


def parse_request(messages: list[dict[str, str]]) -> DSPyRequest | None:
    """A DSPy adapter request (ChatAdapter or JSONAdapter) or None for anything else."""
    system, rest = split_system(messages)
    if "Your output fields are:" not in system:
        return None
    inputs = _parse_field_block(system, "Your input fields are:", ("Your output fields are:",))
    outputs = _parse_field_block(system, "Your output fields are:", ("All interactions will be structured",))
    if not outputs:
        return None
    instructions = ""
    if OBJECTIVE_MARK in system:
        instructions = textwrap.dedent(system.split(OBJECTIVE_MARK, 1)[1]).strip()
    last_user = next((m["content"] for m in reversed(rest) if m["role"] == "user"), "")
    values = parse_sections(RESPOND_RE.sub("", last_user))
    style = (
        "json"
        if "Outputs will be a JSON object" in system or "Respond with a JSON object" in last_user
        else "chat"
    )
    return DSPyRequest(system, inputs, outputs, instructions, values, style)


def render_value(value: Any, style: str) -> Any:
    if style == "json":
        return value
    if isinstance(value, (list, dict)):
        return json.dumps(value)
    return str(value)


def format_reply(fields: list[tuple[str, Any]], style: str) -> str:
    """A reply the adapter parses: `[[ ## name ## ]]` sections + completed marker, or a JSON object."""
    if style == "json":
        return json.dumps({name: value for name, value in fields}, indent=2)
    sections = [f"[[ ## {name} ## ]]\n{render_value(value, style)}" for name, value in fields]
    sections.append("[[ ## completed ## ]]")
    return "\n\n".join(sections)


def default_value(spec: FieldSpec, text: str) -> Any:
    """A well-typed value for any output field: `text` for strings, something valid otherwise."""
    options = spec.literal_options
    if options:
        return options[0]
    base = spec.base_type
    if base in ("int",):
        return 1
    if base in ("float",):
        return 0.5
    if base in ("bool",):
        return True
    if base in ("list", "tuple", "set"):
        return [text] if "str" in spec.type else []
    if base in ("dict",):
        return {}
    return text

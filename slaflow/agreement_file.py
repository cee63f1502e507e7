"""Agreement files: YAML in, a validated `Agreement` out, with errors that name file and field."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from slaflow.agreement import Agreement


class AgreementFileError(ValueError):
    """An agreement file that cannot be read, parsed or validated.

    The message has one line per problem, each ``<file>:<line>: <field.path>: <what is
    wrong>`` (the line where the field, or the nearest mapping holding it, is written);
    `problems` holds ``(field path, message)`` pairs ("" when no field applies) and `lines`
    the line of each (None when unknown).
    """

    def __init__(
        self,
        path: Path | str,
        problems: list[tuple[str, str]],
        lines: list[int | None] | None = None,
    ) -> None:
        self.path = str(path)
        self.problems = problems
        self.lines = lines or [None] * len(problems)
        super().__init__(
            "\n".join(
                _problem_line(self.path, line, field, message)
                for (field, message), line in zip(problems, self.lines, strict=True)
            )
        )


def _problem_line(path: str, line: int | None, field: str, message: str) -> str:
    where = f"{path}:{line}" if line is not None else path
    return f"{where}: {field}: {message}" if field else f"{where}: {message}"


class _UniqueKeyLoader(yaml.SafeLoader):
    """`yaml.SafeLoader` that refuses duplicate keys instead of silently keeping the last."""


def _construct_mapping(loader: yaml.SafeLoader, node: yaml.MappingNode) -> dict[Any, Any]:
    loader.flatten_mapping(node)
    seen: set[Any] = set()
    for key_node, _ in node.value:
        key = loader.construct_object(key_node, deep=True)
        if not isinstance(key, (str, int, float, bool, type(None))):
            continue  # construct_mapping reports unhashable keys itself
        if key in seen:
            raise yaml.constructor.ConstructorError(
                "while constructing a mapping",
                node.start_mark,
                f"found duplicate key {key!r}",
                key_node.start_mark,
            )
        seen.add(key)
    return loader.construct_mapping(node, deep=True)


_UniqueKeyLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping)


_KINDS: dict[type, str] = {
    type(None): "an empty document",
    list: "a list",
    str: "a string",
    int: "a number",
    float: "a number",
    bool: "a boolean",
}


def _field_path(loc: tuple[int | str, ...]) -> tuple[str, str]:
    """Pydantic's location as a dotted path, and a prefix for errors about a mapping key."""
    parts = [str(part) for part in loc]
    if parts and parts[-1] == "[key]":
        return ".".join(parts[:-1]), "not an allowed key: "
    return ".".join(parts), ""


def _problems(error: ValidationError) -> list[tuple[str, str]]:
    problems = []
    for detail in error.errors(include_url=False):
        field, prefix = _field_path(detail["loc"])
        message = detail["msg"]
        if detail["type"] == "value_error":
            message = message.removeprefix("Value error, ")
        problems.append((field, prefix + message))
    return problems


def node_lines(node: yaml.Node | None, path: tuple[str, ...] = ()) -> dict[tuple[str, ...], int]:
    """Each field path of a composed YAML document and the (1-based) line it starts on."""
    lines: dict[tuple[str, ...], int] = {}
    if node is None:
        return lines
    lines[path] = node.start_mark.line + 1
    if isinstance(node, yaml.MappingNode):
        for key, value in node.value:
            if isinstance(key, yaml.ScalarNode):
                lines.update(node_lines(value, (*path, str(key.value))))
                lines[(*path, str(key.value))] = key.start_mark.line + 1  # the key's line
    elif isinstance(node, yaml.SequenceNode):
        for index, item in enumerate(node.value):
            lines.update(node_lines(item, (*path, str(index))))
    return lines


def _line_of(lines: dict[tuple[str, ...], int], loc: tuple[int | str, ...]) -> int | None:
    """The line of the deepest written part of `loc` (a missing field: its parent's line)."""
    parts = tuple(str(part) for part in loc if part != "[key]")
    for end in range(len(parts), -1, -1):
        if parts[:end] in lines:
            return lines[parts[:end]]
    return None


def _lines(text: str, error: ValidationError) -> list[int | None]:
    try:
        lines = node_lines(yaml.compose(text, Loader=yaml.SafeLoader))
    except yaml.YAMLError:  # cannot happen after a successful load; no lines then
        return [None] * error.error_count()
    return [_line_of(lines, detail["loc"]) for detail in error.errors(include_url=False)]


def parse_agreement(text: str, source: Path | str = "<agreement>") -> Agreement:
    """Validate agreement YAML `text`; `source` names it in error messages."""
    try:
        data = yaml.load(text, Loader=_UniqueKeyLoader)  # a SafeLoader subclass
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        problem = getattr(exc, "problem", None) or str(exc)
        where = f"column {mark.column + 1}: " if mark is not None else ""
        line = mark.line + 1 if mark is not None else None
        raise AgreementFileError(source, [("", f"invalid YAML: {where}{problem}")], [line]) from exc
    if not isinstance(data, dict):
        kind = _KINDS.get(type(data), f"a {type(data).__name__}")
        raise AgreementFileError(
            source, [("", f"the top level must be a mapping of agreement fields, not {kind}")]
        )
    try:
        return Agreement.model_validate(data)
    except ValidationError as exc:
        raise AgreementFileError(source, _problems(exc), _lines(text, exc)) from exc


def load_agreement(path: Path) -> Agreement:
    """Read and validate the agreement file at `path`; `AgreementFileError` says what is wrong."""
    try:
        text = Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
        raise AgreementFileError(path, [("", f"cannot read the agreement file: {reason}")]) from exc
    return parse_agreement(text, path)


def dump_agreement(agreement: Agreement) -> str:
    """The agreement as YAML that `load_agreement` reads back equal ("4h", "08:00-18:00")."""
    data = agreement.model_dump(mode="json")
    for name, calendar in agreement.calendars.items():
        data["calendars"][name]["weekly_hours"] = {
            day.value: [str(interval) for interval in intervals]
            for day, intervals in calendar.weekly_hours.items()
        }
    return yaml.safe_dump(data, sort_keys=False, allow_unicode=True, width=100)

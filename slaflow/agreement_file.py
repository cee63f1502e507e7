"""Agreement files: YAML in, a validated `Agreement` out, with errors that name file and field."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ValidationError

from slaflow.agreement import Agreement
from slaflow.customers import DEFAULT_HEADER, AgreementHeader, set_problems, unknown_services


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


class AgreementFile(BaseModel):
    """One agreement file: its header (id, customer or default, rules) and its terms."""

    source: str
    header: AgreementHeader
    agreement: Agreement


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


def _lines(text: str, fields: list[tuple[int | str, ...]]) -> list[int | None]:
    """The line each field path (as its parts) is written on, in a document that loaded."""
    try:
        lines = node_lines(yaml.compose(text, Loader=yaml.SafeLoader))
    except yaml.YAMLError:  # cannot happen after a successful load; no lines then
        return [None] * len(fields)
    return [_line_of(lines, field) for field in fields]


def _locs(error: ValidationError, prefix: tuple[str, ...] = ()) -> list[tuple[int | str, ...]]:
    return [(*prefix, *detail["loc"]) for detail in error.errors(include_url=False)]


def parse_agreement(text: str, source: Path | str = "<agreement>") -> Agreement:
    """Validate agreement YAML `text` (its header, if any, included); `source` names it."""
    return parse_agreement_file(text, source).agreement


def parse_agreement_file(text: str, source: Path | str = "<agreement>") -> AgreementFile:
    """Validate agreement YAML `text`: the optional `agreement:` header and the terms. A file
    without a header (the single-file format) is the default agreement."""
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
    problems: list[tuple[str, str]] = []
    locs: list[tuple[int | str, ...]] = []  # where each problem is, for its line
    header: AgreementHeader | None = DEFAULT_HEADER
    agreement: Agreement | None = None
    if "agreement" in data:
        raw = data.pop("agreement")
        try:
            header = AgreementHeader.model_validate(raw)
        except ValidationError as exc:
            header = None
            problems += [(_under("agreement", f), m) for f, m in _problems(exc)]
            locs += _locs(exc, ("agreement",))
    try:
        agreement = Agreement.model_validate(data)
    except ValidationError as exc:
        problems += _problems(exc)
        locs += _locs(exc)
    if header is not None and agreement is not None:
        services = unknown_services(header, agreement.scope)
        problems += services
        locs += [tuple(field.split(".")) for field, _ in services]
    if problems or header is None or agreement is None:
        raise AgreementFileError(source, problems, _lines(text, locs))
    return AgreementFile(source=str(source), header=header, agreement=agreement)


def _under(prefix: str, field: str) -> str:
    return f"{prefix}.{field}" if field else prefix


def load_agreement(path: Path) -> Agreement:
    """Read and validate the agreement file at `path`; `AgreementFileError` says what is wrong."""
    return load_agreement_file(path).agreement


def load_agreement_file(path: Path) -> AgreementFile:
    """Read and validate one agreement file with its header."""
    try:
        text = Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
        raise AgreementFileError(path, [("", f"cannot read the agreement file: {reason}")]) from exc
    return parse_agreement_file(text, path)


class AgreementSetError(AgreementFileError):
    """Problems of several files (or of files taken together), one line each."""

    def __init__(self, errors: list[AgreementFileError]) -> None:
        self.errors = errors
        ValueError.__init__(self, "\n".join(str(e) for e in errors))
        self.path = errors[0].path
        self.problems = [p for e in errors for p in e.problems]
        self.lines = [line for e in errors for line in e.lines]


def agreement_paths(path: Path) -> list[Path]:
    """The agreement files at `path`: the file itself, or a directory's *.yaml / *.yml."""
    path = Path(path)
    if path.is_dir():
        return sorted(p for p in path.iterdir() if p.suffix in (".yaml", ".yml") and p.is_file())
    return [path]


def load_agreement_set(path: Path) -> list[AgreementFile]:
    """Every agreement at `path` (a file or a directory), checked alone and together;
    `AgreementSetError` lists every problem, each naming its file and field."""
    errors: list[AgreementFileError] = []
    files: list[AgreementFile] = []
    paths = agreement_paths(path)
    if not paths:
        raise AgreementSetError([AgreementFileError(path, [("", "no agreement files (*.yaml)")])])
    for one in paths:
        try:
            files.append(load_agreement_file(one))
        except AgreementFileError as exc:
            errors.append(exc)
    by_id = {f.header.id: f.source for f in files}
    for agreement_id, field, message in set_problems([f.header for f in files]):
        errors.append(AgreementFileError(by_id.get(agreement_id, str(path)), [(field, message)]))
    if errors:
        raise AgreementSetError(errors)
    return files


def dump_agreement(agreement: Agreement) -> str:
    """The agreement as YAML that `load_agreement` reads back equal ("4h", "08:00-18:00")."""
    data = agreement.model_dump(mode="json")
    for name, calendar in agreement.calendars.items():
        data["calendars"][name]["weekly_hours"] = {
            day.value: [str(interval) for interval in intervals]
            for day, intervals in calendar.weekly_hours.items()
        }
    return yaml.safe_dump(data, sort_keys=False, allow_unicode=True, width=100)

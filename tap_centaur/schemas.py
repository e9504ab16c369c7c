"""The JSON schemas of the streams, and the type checks derived from them."""

from __future__ import annotations

import typing as t
from dataclasses import dataclass, field

from singer_sdk import typing as th

#: Where fields the API returns but the schema does not list are kept (as one JSON object).
UNDOCUMENTED_FIELDS = "undocumented_fields"

#: A label's shape depends on the task type, and each shape has a field of its own (one JSON
#: type per field): class names (a list of strings, classification) stay in the label's field,
#: WKT (a string: boxes, lines, circles) goes to the field named with this suffix, any other
#: shape to `undocumented_fields` under the label's name. See `route_labels`.
WKT_SUFFIX = "_wkt"
_STRING = {str}
_CLASS_NAMES = th.ArrayType(th.StringType)
_JSON_OBJECT = th.CustomType({"type": ["object", "null"], "additionalProperties": True})
_UNDOCUMENTED = th.Property(
    UNDOCUMENTED_FIELDS,
    _JSON_OBJECT,
    description="Fields the API returned that this schema does not list, kept verbatim.",
)

CONTENT_METADATA = th.ObjectType(
    th.Property("content_id", th.IntegerType, description="Id of the piece of content."),
    th.Property("origin", th.StringType, description="Original file id or path."),
    th.Property("origin_created_at", th.StringType, description="Upload time."),
    th.Property("series", th.StringType),
    th.Property("series_index", th.IntegerType),
    additional_properties=True,
)

#: What every case result, v1 or v2, starts with: its keys, its task and project.
_CASE_AND_TASK = (
    th.Property("task_id", th.IntegerType, required=True, description="Task id."),
    th.Property("case_id", th.IntegerType, required=True, description="Case (problem) id."),
    th.Property("task_name", th.StringType),
    th.Property("project_id", th.IntegerType),
    th.Property("project_name", th.StringType),
    th.Property("task_type", th.StringType, description='e.g. "choice", "box", "circle".'),
)


def _schema(*properties: th.Property[t.Any]) -> dict[str, t.Any]:
    """A stream's schema, without the SDK's draft-2020-12 `$schema`.

    Targets validate with Draft 4 or 7, and some refuse a schema that names another draft.
    """
    schema = th.PropertiesList(*properties).to_dict()
    schema.pop("$schema", None)
    return schema


CASE_RESULT_SCHEMA: dict[str, t.Any] = _schema(
    *_CASE_AND_TASK,
    th.Property("patch", th.StringType, description="Area of interest as WKT, scaled 0-100."),
    th.Property("labeling_state", th.StringType),
    th.Property("qualified_reads", th.IntegerType, description="Reads meeting the accuracy bar."),
    th.Property("content_metadata", th.ArrayType(CONTENT_METADATA)),
    th.Property("agreement", th.NumberType),
    th.Property("difficulty", th.NumberType),
    th.Property(
        "correct_label",
        _CLASS_NAMES,
        description="Gold Standard or majority label of a classification task: class names.",
    ),
    th.Property("majority_label", _CLASS_NAMES, description="Class names, by majority vote."),
    th.Property(
        f"correct_label{WKT_SUFFIX}",
        th.StringType,
        description="Gold Standard or majority label of a geometric task (box, line, circle): WKT.",
    ),
    th.Property(f"majority_label{WKT_SUFFIX}", th.StringType, description="WKT, by majority."),
    th.Property(
        "read_stats",
        th.ObjectType(
            th.Property("total_reads", th.IntegerType),
            th.Property("qualified_reads", th.IntegerType),
            th.Property("first_read_at", th.StringType),
            th.Property("last_read_at", th.StringType),
            additional_properties=True,
        ),
        description="Case-level read information (keys inferred; any other key is kept).",
    ),
    th.Property("counts", _JSON_OBJECT, description="Vote count by label."),
    _UNDOCUMENTED,
)

#: Results v2 (`/results/public/v2/...`): the fields a third-party copy of Centaur's OpenAPI
#: publishes (inferred, checked at run time); `results` has one element per piece of content.
CASE_RESULT_V2_SCHEMA: dict[str, t.Any] = _schema(
    *_CASE_AND_TASK,
    th.Property("content_type", th.StringType),
    th.Property("labeling_state", th.StringType),
    th.Property("n_qualified_opinions", th.IntegerType, description="Qualified opinions."),
    th.Property(
        "results",
        th.ArrayType(
            th.ObjectType(
                th.Property("content_metadata", th.ArrayType(CONTENT_METADATA)),
                additional_properties=True,
            )
        ),
        description="One element per piece of content: its content_metadata, and every other "
        "key (prelabel, ..., shapes not published) as it comes.",
    ),
    _UNDOCUMENTED,
)

TASK_SCHEMA: dict[str, t.Any] = _schema(
    th.Property("task_id", th.IntegerType, required=True, description="Task id."),
    th.Property("task_name", th.StringType),
    th.Property("project_id", th.IntegerType, description="Inferred: the task's project."),
    th.Property("project_name", th.StringType),
    th.Property("task_type", th.StringType),
    _UNDOCUMENTED,
)

PROJECT_SCHEMA: dict[str, t.Any] = _schema(
    th.Property("project_id", th.IntegerType, required=True, description="Project id."),
    th.Property("project_name", th.StringType),
    _UNDOCUMENTED,
)

_PYTHON_TYPES: dict[str, tuple[type, ...]] = {
    "integer": (int,),
    "number": (int, float),
    "string": (str,),
    "boolean": (bool,),
    "object": (dict,),
    "array": (list,),
    "null": (type(None),),
}


def _python_types(json_types: str | list[str]) -> tuple[type, ...]:
    names = [json_types] if isinstance(json_types, str) else json_types
    return tuple(py_type for name in names for py_type in _PYTHON_TYPES[name])


#: A declared part of a value: the exact Python types it may have, and the check of its own
#: parts when it has any.
_Part = tuple[tuple[type, ...], "TypeCheck | None"]


class TooDeepError(Exception):
    """A value nests objects and lists deeper than allowed."""


@dataclass(frozen=True)
class TypeCheck:
    """The checks of the declared parts of a JSON value: an object's properties, an array's items.

    Exact types: JSON `true` decodes to bool, which must not pass for an integer.
    """

    properties: dict[str, _Part] = field(default_factory=dict)
    items: _Part | None = None
    #: Properties that may not be missing (their types exclude null).
    required: tuple[str, ...] = ()

    @classmethod
    def of(cls, schema: dict[str, t.Any], skip: tuple[str, ...] = ()) -> TypeCheck | None:
        """The check of the parts of a JSON schema, but of its properties in `skip`.

        None when there is no part to check.
        """
        properties = {
            name: part
            for name, spec in schema.get("properties", {}).items()
            if name not in skip and (part := cls._part(spec))
        }
        items = cls._part(schema.get("items", {}))
        required = tuple(name for name, (types, _) in properties.items() if type(None) not in types)
        return cls(properties, items, required) if properties or items else None

    @classmethod
    def _part(cls, schema: dict[str, t.Any]) -> _Part | None:
        return (_python_types(schema["type"]), cls.of(schema)) if "type" in schema else None


def mismatch(value: object, check: TypeCheck | None, levels: int) -> tuple[str, object] | None:
    """One walk of a value: the path and value of its first part of a type the schema forbids.

    The path is made of ".key" and "[0]" parts; None when every part has its type. Parts the
    schema does not declare are walked too, for their depth only.

    Raises:
        TooDeepError: when objects and lists nest more than `levels` deep (`value` is one).
    """
    if levels == 0:
        raise TooDeepError
    found: tuple[str, object] | None = None
    if type(value) is dict:
        declared = check.properties if check is not None else {}
        for name, item in value.items():
            part = declared.get(name)
            if part is not None and type(item) not in part[0]:
                return f".{name}", item
            if (type(item) is dict or type(item) is list) and (
                found := mismatch(item, part[1] if part else None, levels - 1)
            ):
                return f".{name}{found[0]}", found[1]
        for name in check.required if check is not None else ():
            if name not in value:
                return f".{name}", None
    elif type(value) is list:
        part = check.items if check is not None else None
        for index, item in enumerate(value):
            if part is not None and type(item) not in part[0]:
                return f"[{index}]", item
            if (type(item) is dict or type(item) is list) and (
                found := mismatch(item, part[1] if part else None, levels - 1)
            ):
                return f"[{index}]{found[0]}", found[1]
    return found


@dataclass(frozen=True)
class RecordShape:
    """What a record of one endpoint must look like, derived from its JSON schema."""

    name: str
    #: The stream's JSON schema.
    schema: dict[str, t.Any]
    #: The integer fields that identify a record (its primary key), checked first.
    keys: tuple[str, ...]
    documented: frozenset[str]
    #: The check of the typed fields but the keys, at every depth the schema declares.
    check: TypeCheck | None
    #: The label fields and their WKT fields (see WKT_SUFFIX and `route_labels`).
    labels: tuple[tuple[str, str], ...] = ()
    #: Who answered, and what was expected, for error messages.
    source: str = "the API"
    expected: str = ""

    @classmethod
    def of(
        cls, name: str, keys: tuple[str, ...], schema: dict[str, t.Any], **labels: str
    ) -> RecordShape:
        """Derive the shape from a schema that has an `undocumented_fields` property."""
        properties = schema["properties"]
        return cls(
            name=name,
            schema=schema,
            keys=keys,
            documented=frozenset(properties) - {UNDOCUMENTED_FIELDS},
            check=TypeCheck.of(schema, skip=(UNDOCUMENTED_FIELDS, *keys)),
            labels=tuple(
                (field, field + WKT_SUFFIX)
                for field in properties
                if field + WKT_SUFFIX in properties
            ),
            **labels,
        )


def route_labels(
    record: dict[str, t.Any], labels: tuple[tuple[str, str], ...]
) -> dict[str, t.Any] | None:
    """Give each label of `record` the field of its shape; return the labels of no known shape.

    `labels`: (label, its WKT field) pairs. Class names (a list of strings) stay, a WKT string
    moves to the WKT field; both fields are set (null when not of their shape). Any other shape
    (an object, a number, a list of non-strings) is not the docs': the caller keeps it verbatim
    in `undocumented_fields`.
    """
    undescribed = None
    for label, wkt in labels:
        value = record.get(label)
        if type(value) is str:
            record[label], record[wkt] = None, value
            continue
        record[wkt] = None
        if value is None or (type(value) is list and not set(map(type, value)) - _STRING):
            record[label] = value
            continue
        record[label] = None
        undescribed = {**(undescribed or {}), label: value}
    return undescribed


CASE_RESULT = RecordShape.of("case result", ("task_id", "case_id"), CASE_RESULT_SCHEMA)
CASE_RESULT_V2 = RecordShape.of(
    "case result",
    ("task_id", "case_id"),
    CASE_RESULT_V2_SCHEMA,
    source="results v2",
    expected=(
        "a page like v1's, {'payload': [case results with integer task_id and case_id], "
        "'has_next': true or false, 'last_sequence_id': integer} (the v2 shape is inferred from "
        "public material; see the README's Known limits)"
    ),
)
TASK = RecordShape.of("task", ("task_id",), TASK_SCHEMA)
PROJECT = RecordShape.of("project", ("project_id",), PROJECT_SCHEMA)

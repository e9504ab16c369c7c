"""The JSON schemas of the streams, and the type checks derived from them."""

from __future__ import annotations

import typing as t
from dataclasses import dataclass

from singer_sdk import typing as th

#: Where fields the API returns but the schema does not list are kept (as one JSON object).
UNDOCUMENTED_FIELDS = "undocumented_fields"

#: A label's WKT form (boxes, lines, circles) has a field of its own: see `route_labels`.
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
    """A stream's schema, without `$schema`: targets validate with Draft 4 or 7."""
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
    th.Property("correct_label", _CLASS_NAMES, description="Gold Standard, else majority."),
    th.Property("majority_label", _CLASS_NAMES, description="Class names by majority vote."),
    th.Property(f"correct_label{WKT_SUFFIX}", th.StringType, description="The same, as WKT."),
    th.Property(f"majority_label{WKT_SUFFIX}", th.StringType, description="The same, as WKT."),
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
        description="One per piece of content; keys other than content_metadata as they come.",
    ),
    _UNDOCUMENTED,
)

#: A task: a case result's task and project (beyond task_id and task_name: inferred, README).
TASK_SCHEMA: dict[str, t.Any] = _schema(
    *(prop for prop in _CASE_AND_TASK if prop.name != "case_id"), _UNDOCUMENTED
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


#: The exact types (`true` is no integer) of an object's properties, or (under None) of an
#: array's items, each with the check of its own parts.
TypeCheck = dict[str | None, tuple[tuple[type, ...], "TypeCheck | None"]]


def type_check(schema: dict[str, t.Any], skip: tuple[str, ...] = ()) -> TypeCheck | None:
    """The check of a JSON schema's parts but its properties in `skip`; None if none."""
    check: TypeCheck = {}
    for name, spec in {**schema.get("properties", {}), None: schema.get("items", {})}.items():
        if name not in skip and "type" in spec:
            names = [spec["type"]] if isinstance(spec["type"], str) else spec["type"]
            check[name] = tuple(kind for n in names for kind in _PYTHON_TYPES[n]), type_check(spec)
    return check or None


def mismatch(value: object, check: TypeCheck | None, levels: int) -> tuple[str, object] | None:
    """The path (".key[0]") and value of the first part of a forbidden type, or None.

    Undeclared parts are walked for their depth only: `RecursionError` past `levels`.
    """
    if levels == 0:
        raise RecursionError
    if type(value) is dict:
        declared = check or {}
        for name, item in value.items():
            part = declared.get(name)
            if part is not None and type(item) not in part[0]:
                return f".{name}", item
            if (type(item) is dict or type(item) is list) and (
                found := mismatch(item, part[1] if part else None, levels - 1)
            ):
                return f".{name}{found[0]}", found[1]
    elif type(value) is list:
        part = check.get(None) if check else None
        for index, item in enumerate(value):
            if part is not None and type(item) not in part[0]:
                return f"[{index}]", item
            if (type(item) is dict or type(item) is list) and (
                found := mismatch(item, part[1] if part else None, levels - 1)
            ):
                return f"[{index}]{found[0]}", found[1]
    return None


@dataclass(frozen=True)
class RecordShape:
    """What a record of one endpoint must look like, derived from its JSON schema."""

    name: str
    schema: dict[str, t.Any]
    keys: tuple[str, ...]  # the integer fields of its primary key, checked first
    documented: frozenset[str]
    check: TypeCheck | None  # of the typed fields but the keys, at every depth declared
    labels: tuple[tuple[str, str], ...] = ()  # each label field and its WKT field
    #: Who answered, and what was expected, for error messages.
    source: str = "the API"
    expected: str = ""

    @classmethod
    def of(
        cls, name: str, keys: tuple[str, ...], schema: dict[str, t.Any], **messages: str
    ) -> RecordShape:
        """The shape of a schema that has an `undocumented_fields` property."""
        properties = schema["properties"]
        return cls(
            name=name,
            schema=schema,
            keys=keys,
            documented=frozenset(properties) - {UNDOCUMENTED_FIELDS},
            check=type_check(schema, skip=(UNDOCUMENTED_FIELDS, *keys)),
            labels=tuple(
                (field, field + WKT_SUFFIX)
                for field in properties
                if field + WKT_SUFFIX in properties
            ),
            **messages,
        )


def route_labels(
    record: dict[str, t.Any], labels: tuple[tuple[str, str], ...]
) -> dict[str, t.Any] | None:
    """Give each label the field of its shape; return the labels of no known shape.

    Class names stay, WKT text moves to the WKT field (each null when not of its shape).
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
        "'has_next': bool, 'last_sequence_id': integer} (inferred: README, Known limits)"
    ),
)
TASK = RecordShape.of("task", ("task_id",), TASK_SCHEMA)
PROJECT = RecordShape.of("project", ("project_id",), PROJECT_SCHEMA)

"""The JSON schemas of the streams, and the type checks derived from them."""

from __future__ import annotations

import typing as t
from dataclasses import dataclass

from singer_sdk import typing as th

#: Where fields the API returns but the schema does not list are kept (as one JSON object).
UNDOCUMENTED_FIELDS = "undocumented_fields"

#: A label's shape depends on the task type, and each shape has a field of its own (one JSON
#: type per field): class names (a list of strings, classification) stay in the label's field,
#: WKT (a string: boxes, lines, circles) goes to the field named with this suffix, any other
#: shape to `undocumented_fields` under the label's name. See `route_labels`.
WKT_SUFFIX = "_wkt"
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


@dataclass(frozen=True)
class TypeCheck:
    """The exact Python types a JSON value may have, and the checks of its declared parts.

    The parts: an object's properties, an array's items. Exact types: JSON `true` decodes to
    bool, which must not pass for an integer.
    """

    types: tuple[type, ...]
    properties: tuple[tuple[str, TypeCheck], ...] = ()
    items: TypeCheck | None = None

    @classmethod
    def of(cls, schema: dict[str, t.Any]) -> TypeCheck | None:
        """The check of a JSON schema with a `type`; None when it allows any value."""
        if "type" not in schema:
            return None
        properties = schema.get("properties", {}).items()
        return cls(
            _python_types(schema["type"]),
            tuple((name, check) for name, spec in properties if (check := cls.of(spec))),
            cls.of(schema.get("items", {})),
        )

    def mismatch(self, value: object, path: str) -> tuple[str, object] | None:
        """The path and value of the first part of `value` of a type the schema forbids."""
        if type(value) not in self.types:
            return path, value
        if self.properties and type(value) is dict:
            for name, check in self.properties:
                found = check.mismatch(value.get(name), f"{path}.{name}")
                if found:
                    return found
        if self.items and type(value) is list:
            for index, item in enumerate(value):
                found = self.items.mismatch(item, f"{path}[{index}]")
                if found:
                    return found
        return None


@dataclass(frozen=True)
class RecordShape:
    """What a record of one endpoint must look like, derived from its JSON schema."""

    name: str
    #: The stream's JSON schema.
    schema: dict[str, t.Any]
    #: The integer fields that identify a record (its primary key), checked first.
    keys: tuple[str, ...]
    documented: frozenset[str]
    #: The check of each typed field, at every depth the schema declares.
    field_checks: tuple[tuple[str, TypeCheck], ...]
    #: The label fields: a WKT string goes to `<label>_wkt` (see WKT_SUFFIX).
    labels: tuple[str, ...] = ()
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
            field_checks=tuple(
                (field, check)
                for field, spec in properties.items()
                if field not in (UNDOCUMENTED_FIELDS, *keys) and (check := TypeCheck.of(spec))
            ),
            labels=tuple(field for field in properties if field + WKT_SUFFIX in properties),
            **labels,
        )


def route_labels(record: dict[str, t.Any], labels: tuple[str, ...]) -> dict[str, t.Any]:
    """Give each label of `record` the field of its shape; return the labels of no known shape.

    Class names (a list of strings) stay, a WKT string moves to `<label>_wkt`; both fields are
    set (null when not of their shape). Any other shape (an object, a number, a list of
    non-strings) is not the docs': the caller keeps it verbatim in `undocumented_fields`.
    """
    undescribed: dict[str, t.Any] = {}
    for label in labels:
        value = record.get(label)
        classes = type(value) is list and all(type(name) is str for name in value)
        record[label + WKT_SUFFIX] = value if type(value) is str else None
        record[label] = value if classes else None
        if value is not None and not classes and type(value) is not str:
            undescribed[label] = value
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

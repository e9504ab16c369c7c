"""The JSON schemas of the streams, and the type checks derived from them."""

from __future__ import annotations

import typing as t
from dataclasses import dataclass

from singer_sdk import typing as th

#: Where fields the API returns but the schema does not list are kept (as one JSON object).
UNDOCUMENTED_FIELDS = "undocumented_fields"

#: A label's shape depends on the task type: class names (list) for classification,
#: WKT (string) for boxes, lines and circles. Kept as JSON whatever its shape.
_LABEL = th.CustomType({"type": ["array", "string", "object", "null"]})
_JSON_OBJECT = th.CustomType({"type": ["object", "null"], "additionalProperties": True})
_JSON_ARRAY = th.CustomType({"type": ["array", "null"], "items": {}})
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

CASE_RESULT_SCHEMA: dict[str, t.Any] = th.PropertiesList(
    *_CASE_AND_TASK,
    th.Property("patch", th.StringType, description="Area of interest as WKT, scaled 0-100."),
    th.Property("labeling_state", th.StringType),
    th.Property("qualified_reads", th.IntegerType, description="Reads meeting the accuracy bar."),
    th.Property("content_metadata", th.ArrayType(CONTENT_METADATA)),
    th.Property("agreement", th.NumberType),
    th.Property("difficulty", th.NumberType),
    th.Property("correct_label", _LABEL, description="Gold Standard or majority label."),
    th.Property("majority_label", _LABEL),
    th.Property("read_stats", _JSON_OBJECT, description="Case-level read information."),
    th.Property("counts", _JSON_OBJECT, description="Vote count by label."),
    _UNDOCUMENTED,
).to_dict()

#: Results v2 (`/results/public/v2/...`): the fields a third-party copy of Centaur's OpenAPI
#: publishes (inferred, checked at run time); `results` has one element per piece of content.
CASE_RESULT_V2_SCHEMA: dict[str, t.Any] = th.PropertiesList(
    *_CASE_AND_TASK,
    th.Property("content_type", th.StringType),
    th.Property("labeling_state", th.StringType),
    th.Property("n_qualified_opinions", th.IntegerType, description="Qualified opinions."),
    th.Property(
        "results",
        _JSON_ARRAY,
        description="One element per piece of content (content_metadata, prelabel, ...), "
        "kept as JSON.",
    ),
    _UNDOCUMENTED,
).to_dict()

TASK_SCHEMA: dict[str, t.Any] = th.PropertiesList(
    th.Property("task_id", th.IntegerType, required=True, description="Task id."),
    th.Property("task_name", th.StringType),
    th.Property("project_id", th.IntegerType, description="Inferred: the task's project."),
    th.Property("project_name", th.StringType),
    th.Property("task_type", th.StringType),
    _UNDOCUMENTED,
).to_dict()

PROJECT_SCHEMA: dict[str, t.Any] = th.PropertiesList(
    th.Property("project_id", th.IntegerType, required=True, description="Project id."),
    th.Property("project_name", th.StringType),
    _UNDOCUMENTED,
).to_dict()

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
class RecordShape:
    """What a record of one endpoint must look like, derived from its JSON schema."""

    name: str
    #: The stream's JSON schema.
    schema: dict[str, t.Any]
    #: The integer fields that identify a record (its primary key), checked first.
    keys: tuple[str, ...]
    documented: frozenset[str]
    #: (field, the exact Python types its decoded JSON value may have), per typed field.
    #: Exact types: JSON `true` decodes to bool, which must not pass for an integer.
    field_types: tuple[tuple[str, tuple[type, ...]], ...]
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
            field_types=tuple(
                (field, _python_types(spec["type"]))
                for field, spec in properties.items()
                if "type" in spec and field not in (UNDOCUMENTED_FIELDS, *keys)
            ),
            **labels,
        )


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

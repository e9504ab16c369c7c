"""The JSON schema of a case result, and the type check derived from it."""

from __future__ import annotations

import typing as t

from singer_sdk import typing as th

#: Where fields the API returns but the schema does not list are kept (as one JSON object).
UNDOCUMENTED_FIELDS = "undocumented_fields"

#: A label's shape depends on the task type: class names (list) for classification,
#: WKT (string) for boxes, lines and circles. Kept as JSON whatever its shape.
_LABEL = th.CustomType({"type": ["array", "string", "object", "null"]})
_JSON_OBJECT = th.CustomType({"type": ["object", "null"], "additionalProperties": True})

CONTENT_METADATA = th.ObjectType(
    th.Property("content_id", th.IntegerType, description="Id of the piece of content."),
    th.Property("origin", th.StringType, description="Original file id or path."),
    th.Property("origin_created_at", th.StringType, description="Upload time."),
    th.Property("series", th.StringType),
    th.Property("series_index", th.IntegerType),
    additional_properties=True,
)

CASE_RESULT_SCHEMA: dict[str, t.Any] = th.PropertiesList(
    th.Property("task_id", th.IntegerType, required=True, description="Task id."),
    th.Property("case_id", th.IntegerType, required=True, description="Case (problem) id."),
    th.Property("task_name", th.StringType),
    th.Property("project_id", th.IntegerType),
    th.Property("project_name", th.StringType),
    th.Property("task_type", th.StringType, description='e.g. "choice", "box", "circle".'),
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
    th.Property(
        UNDOCUMENTED_FIELDS,
        _JSON_OBJECT,
        description="Fields the API returned that this schema does not list, kept verbatim.",
    ),
).to_dict()

DOCUMENTED_FIELDS = frozenset(CASE_RESULT_SCHEMA["properties"]) - {UNDOCUMENTED_FIELDS}
REQUIRED_FIELDS = tuple(CASE_RESULT_SCHEMA["required"])

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


#: (field, the exact Python types its decoded JSON value may have), for each typed field.
#: Exact types: JSON `true` decodes to bool, which must not pass for an integer.
FIELD_TYPES: tuple[tuple[str, tuple[type, ...]], ...] = tuple(
    (name, _python_types(spec["type"]))
    for name, spec in CASE_RESULT_SCHEMA["properties"].items()
    if "type" in spec and name != UNDOCUMENTED_FIELDS
)

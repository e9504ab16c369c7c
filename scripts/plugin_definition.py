"""Write hub/tap-centaur.yml and meltano.yml's `tap-centaur` extractor from one source.

The settings come from the tap's settings schema (`TapCentaur.config_jsonschema`, with the
built-in settings the SDK appends, as `tap-centaur --about` lists them); the rest of the plugin
definition from the tap class and `PLUGIN` below.

    python scripts/plugin_definition.py           # rewrite the files that drifted
    python scripts/plugin_definition.py --check   # exit 1, naming each file that drifted
    (--hub-file PATH and --meltano-yml PATH choose other copies of the two files)

meltano.yml keeps `pip_url: -e .`, its comments, its environments, the other plugins and any
project keys of the extractor (`config`, `select`, ...); the extractor's definition keys are
what `meltano add --from-ref hub/tap-centaur.yml` writes into a project.
"""

from __future__ import annotations

import argparse
import copy
import io
import itertools
import sys
import textwrap
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq
from ruamel.yaml.error import YAMLError
from ruamel.yaml.scalarstring import FoldedScalarString

from tap_centaur.tap import TapCentaur

ROOT = Path(__file__).resolve().parents[1]
HUB_FILE = ROOT / "hub" / "tap-centaur.yml"
MELTANO_YML = ROOT / "meltano.yml"

#: What the tap class does not say about itself.
PLUGIN: dict[str, Any] = {
    "variant": "tap-centaur",
    "label": "Centaur Labs",
    "description": "Labeling results (cases, reads, labels) of Centaur Labs tasks",
    "docs": "https://github.com/tap-centaur/tap-centaur#readme",
    "repo": "https://github.com/tap-centaur/tap-centaur",
}
#: Keys only the Hub reads: Meltano 4.4.1 drops them when it adds the plugin to a project.
HUB_METADATA: dict[str, Any] = {
    "domain_url": "https://docs.centaurlabs.com",
    "keywords": ["api", "meltano_sdk"],
    # Not yet released on PyPI.
    "maintenance_status": "beta",
    # The Hub's maintainers rate quality; the schema requires the key.
    "quality": "unknown",
}
#: The ways to authenticate; the schema's required settings are added to each.
AUTH_GROUPS = (("api_key", "username", "api_password"), ("api_key", "bearer_token"))
#: This repository's project installs the tap from its working tree.
MELTANO_YML_PIP_URL = "-e ."

# --- JSON schema -> Meltano setting kind -------------------------------------------------

#: The kind of each JSON type.
KIND_OF_TYPE = {
    "string": "string",
    "integer": "integer",
    # Not `decimal`: Meltano 4.4.1 turns a decimal setting's value from an environment
    # variable into a Decimal, then fails to write the tap's config ("Object of type Decimal
    # is not JSON serializable"). As a string the value reaches the tap, which parses it.
    "number": "string",
    "boolean": "boolean",
    "array": "array",
    "object": "object",
}
#: String formats with a kind of their own.
KIND_OF_FORMAT = {"date-time": "date_iso8601", "date": "date_iso8601", "email": "email"}
#: A string with an `enum`.
ENUM_KIND = "options"
#: Settings that accept several forms: the kind that lets each form through Meltano.
KIND_OF_UNION = {
    # A value, or the same value as text (an environment variable): Meltano casts the text
    # with int() or its truthy().
    frozenset({"integer", "string"}): "integer",
    frozenset({"boolean", "string"}): "boolean",
    # One choice or a list of choices (or their text): `options` rejects a list and `array` a
    # single value; `string` passes each form to the tap as it is (the tap parses the text).
    frozenset({"options", "array"}): "string",
    frozenset({"options", "array", "string"}): "string",
    frozenset({"array", "string"}): "string",
}


class UnmappedSettingError(ValueError):
    """A setting whose schema has no Meltano kind in the tables above."""


def forms(spec: Mapping[str, Any]) -> list[dict[str, Any]]:
    """The non-null forms a setting accepts: each type of `type`, each entry of anyOf/oneOf."""
    found: list[dict[str, Any]] = []
    for keyword in ("anyOf", "oneOf"):
        for entry in spec.get(keyword, []):
            # A bare "null" (not valid JSON Schema, but what the SDK writes for optional
            # anyOf properties) means the same as {"type": "null"}.
            if isinstance(entry, Mapping):
                found.extend(forms(entry))
    declared = spec.get("type")
    types = [declared] if isinstance(declared, str) else list(declared or [])
    found.extend({**spec, "type": type_} for type_ in types if type_ != "null")
    return found


def kind_of_form(form: Mapping[str, Any]) -> str:
    """The kind of one form (a single JSON type)."""
    if form["type"] == "string":
        if form.get("enum"):
            return ENUM_KIND
        if form.get("format") in KIND_OF_FORMAT:
            return KIND_OF_FORMAT[form["format"]]
    return KIND_OF_TYPE[form["type"]]


def choices(spec_forms: Iterable[Mapping[str, Any]]) -> list[Any]:
    """The enum values of the forms (of the form itself, or of its array items)."""
    values: list[Any] = []
    for form in spec_forms:
        for value in [*form.get("enum", []), *form.get("items", {}).get("enum", [])]:
            if value not in values:
                values.append(value)
    return values


def setting_kind(name: str, spec: Mapping[str, Any]) -> str:
    """The Meltano kind of a setting."""
    spec_forms = forms(spec)
    kinds = frozenset(kind_of_form(form) for form in spec_forms)
    if len(kinds) == 1:
        return next(iter(kinds))
    if kinds in KIND_OF_UNION:
        return KIND_OF_UNION[kinds]
    raise UnmappedSettingError(
        f"setting {name!r}: no Meltano kind for a value that is {sorted(kinds) or 'untyped'}; "
        "add the combination to KIND_OF_UNION in scripts/plugin_definition.py"
    )


def setting(name: str, spec: Mapping[str, Any]) -> dict[str, Any]:
    """The Meltano setting definition of one property of the settings schema."""
    description = spec.get("description")
    if not description:
        raise UnmappedSettingError(f"setting {name!r} has no description in the schema")
    entry: dict[str, Any] = {
        "name": name,
        "label": spec.get("title") or name.replace("_", " ").capitalize(),
        "kind": setting_kind(name, spec),
        "description": " ".join(str(description).split()),
    }
    options = choices(forms(spec))
    if options:
        entry["options"] = [{"label": str(value), "value": value} for value in options]
    if spec.get("secret") or spec.get("writeOnly"):
        entry["sensitive"] = True
    if spec.get("default") is not None:
        entry["value"] = spec["default"]
    return entry


# --- the plugin definition ---------------------------------------------------------------


def settings_schema() -> tuple[dict[str, Any], set[str]]:
    """The settings schema `--about` prints (the tap's settings, then the SDK's built-in ones),
    and the names of the built-in settings."""
    builtins: dict[str, Any] = {"properties": {}}
    TapCentaur.append_builtin_config(builtins)
    # The SDK appends its settings to the class's own schema once a tap has been validated or
    # described in this process, so take the tap's settings by name, not by position.
    schema = copy.deepcopy(TapCentaur.config_jsonschema)
    TapCentaur.append_builtin_config(schema)
    properties = schema["properties"]
    order = [n for n in properties if n not in builtins["properties"]] + list(
        builtins["properties"]
    )
    schema["properties"] = {name: properties[name] for name in order}
    return schema, set(builtins["properties"])


def definition() -> dict[str, Any]:
    """The Hub's plugin definition of the tap."""
    schema, _ = settings_schema()
    properties: dict[str, Any] = schema["properties"]
    required = [name for name in properties if name in schema.get("required", [])]
    groups = [[name for name in properties if name in {*group, *required}] for group in AUTH_GROUPS]
    return {
        "name": TapCentaur.name,
        "namespace": TapCentaur.name.replace("-", "_"),
        **{key: PLUGIN[key] for key in ("variant", "label", "description", "docs", "repo")},
        "pip_url": TapCentaur.package_name,
        "executable": TapCentaur.name,
        **HUB_METADATA,
        "supported_python_versions": TapCentaur.get_supported_python_versions(),
        "capabilities": [str(capability) for capability in TapCentaur.capabilities],
        "settings_group_validation": groups,
        "settings": [setting(name, spec) for name, spec in properties.items()],
    }


def meltano_yml_extractor() -> dict[str, Any]:
    """meltano.yml's extractor: the definition as Meltano keeps it, installed from here."""
    plugin = {k: v for k, v in definition().items() if k not in HUB_METADATA}
    # `meltano add` writes this one into a project too, but Meltano 4.4.1's own schema of
    # meltano.yml rejects it there (it only serves a Python check at install time).
    plugin.pop("supported_python_versions")
    plugin["pip_url"] = MELTANO_YML_PIP_URL
    return plugin


# --- YAML --------------------------------------------------------------------------------

HUB_HEADER = """\
# Meltano Hub plugin definition of tap-centaur. Add it to a Meltano project with
#   meltano add --plugin-type extractor tap-centaur --from-ref <URL or path of this file>
# Generated by scripts/plugin_definition.py from the tap's settings schema: do not edit.
"""
WIDTH = 100
#: The column of a setting's keys in meltano.yml (plugins: extractors: - settings: - name:).
SETTINGS_INDENT = 10
BUILTINS_COMMENT = "Built-in settings of the Singer SDK (stream maps, flattening, BATCH)."


def yaml() -> YAML:
    """The round-trip YAML of both files (meltano.yml's indentation and width)."""
    loader = YAML()
    loader.indent(mapping=2, sequence=4, offset=2)
    loader.width = WIDTH
    loader.preserve_quotes = True
    return loader


def folded(text: str, width: int) -> str:
    """`text` as a folded block scalar of lines up to `width`, when it does not fit on one."""
    if len(text) <= width - len("description: "):
        return text
    lines = textwrap.wrap(text, width, break_long_words=False, break_on_hyphens=False)
    scalar = FoldedScalarString(" ".join(lines))
    # The position of each space that ends a line.
    scalar.fold_pos = [end - 1 for end in itertools.accumulate(len(line) + 1 for line in lines)]
    del scalar.fold_pos[-1]
    result: str = scalar
    return result


def commented_settings(settings: list[dict[str, Any]], indent: int) -> CommentedSeq:
    """The settings as YAML whose keys are at column `indent`, with folded descriptions and
    a comment above the SDK's built-in settings."""
    _, builtins = settings_schema()
    width = WIDTH - indent - 2
    seq = CommentedSeq(
        CommentedMap({**entry, "description": folded(entry["description"], width)})
        for entry in settings
    )
    first = next((i for i, s in enumerate(settings) if s["name"] in builtins), None)
    if first is not None:
        seq.yaml_set_comment_before_after_key(first, before=BUILTINS_COMMENT, indent=indent - 2)
    return seq


def last_key(node: object) -> tuple[CommentedMap, Any] | None:
    """The innermost mapping that ends `node`, and its last key (where a trailing comment is)."""
    found = None
    while isinstance(node, CommentedSeq | CommentedMap) and node:
        if isinstance(node, CommentedSeq):
            node = node[-1]
            continue
        key = list(node)[-1]
        found, node = (node, key), node[key]
    return found


def move_trailing_comment(old: object, new: object) -> None:
    """Keep the comment that follows `old` (e.g. above the next plugin) after `new`."""
    source, target = last_key(old), last_key(new)
    if source is None or target is None:
        return
    tokens = source[0].ca.items.get(source[1])
    if not tokens or len(tokens) < 3 or tokens[2] is None:
        return
    comment = copy.copy(tokens[2])
    # A block scalar ends its own line; after a plain one, the comment's first newline does.
    was_block = isinstance(source[0][source[1]], FoldedScalarString)
    if was_block and not isinstance(target[0][target[1]], FoldedScalarString):
        comment.value = "\n" + comment.value
    target[0].ca.items[target[1]] = [None, None, comment, None]


def hub_text() -> str:
    """The text of hub/tap-centaur.yml."""
    plugin = CommentedMap(definition())
    plugin["settings"] = commented_settings(plugin["settings"], indent=4)
    out = io.StringIO()
    yaml().dump(plugin, out)
    return HUB_HEADER + out.getvalue()


def meltano_yml_text(current: str) -> str:
    """meltano.yml with its tap-centaur extractor replaced by the generated one."""
    loader = yaml()
    project = loader.load(current)
    extractors = project["plugins"]["extractors"]
    wanted = meltano_yml_extractor()
    index = next(i for i, p in enumerate(extractors) if p["name"] == wanted["name"])
    plugin: CommentedMap = extractors[index]
    # The definition's keys (and two more a definition may have) are the generator's; the
    # others (config, select, metadata, schema, ...) are the project's and are kept.
    owned = {*definition(), "hidden", "logo_url"}
    for key in [k for k in plugin if k in owned and k not in wanted]:
        del plugin[key]
    previous = -1
    for key, value in wanted.items():
        if key not in plugin:
            plugin.insert(previous + 1, key, None)
        if plugin[key] != value:
            new = value
            if key == "settings":
                new = commented_settings(value, indent=SETTINGS_INDENT)
                move_trailing_comment(plugin[key], new)
            plugin[key] = new
        previous = list(plugin).index(key)
    out = io.StringIO()
    loader.dump(project, out)
    return out.getvalue()


def loaded(text: str) -> object:
    """Plain data of a YAML text (for comparing meaning, not formatting)."""
    return YAML(typ="safe", pure=True).load(text)


def drifted(path: Path, wanted: str) -> bool:
    """Whether the file at `path` is missing, not YAML, or means something else than `wanted`."""
    try:
        return loaded(path.read_text(encoding="utf-8")) != loaded(wanted)
    except (OSError, YAMLError):
        return True


def main(argv: list[str] | None = None) -> int:
    """Rewrite or check the generated files."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="only report files that drifted")
    parser.add_argument("--hub-file", type=Path, default=HUB_FILE, help="default: %(default)s")
    parser.add_argument(
        "--meltano-yml", type=Path, default=MELTANO_YML, help="default: %(default)s"
    )
    args = parser.parse_args(argv)
    try:
        files = {
            args.hub_file: hub_text(),
            args.meltano_yml: meltano_yml_text(args.meltano_yml.read_text(encoding="utf-8")),
        }
    except UnmappedSettingError as error:
        print(f"plugin_definition: {error}", file=sys.stderr)
        return 2
    stale = [path for path, text in files.items() if drifted(path, text)]
    if args.check:
        for path in stale:
            print(
                f"{path} differs from what the tap's settings schema gives: "
                "run python scripts/plugin_definition.py",
                file=sys.stderr,
            )
        return 1 if stale else 0
    for path, text in files.items():
        if not path.exists() or path.read_text(encoding="utf-8") != text:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text, encoding="utf-8")
            print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

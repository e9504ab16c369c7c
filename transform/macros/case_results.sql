{#- The staging of the results tables: one row per case, typed, JSON null as SQL NULL, the
    tap's clock as timestamptz. v1 (task_results, case_results) and v2 (task_results_v2,
    case_results_v2) share the case's and the load's columns. -#}
{% macro stg_case_results(table) %}
select
    {{ case_columns() }},
    patch,
    qualified_reads,
    agreement,
    difficulty,
    correct_label,
    majority_label,
    correct_label_wkt,
    majority_label_wkt,
    coalesce(nullif(counts, 'null'::jsonb), '{}'::jsonb) as counts,
    (read_stats ->> 'total_reads')::integer as total_reads,
    (read_stats ->> 'first_read_at')::timestamptz as first_read_at,
    (read_stats ->> 'last_read_at')::timestamptz as last_read_at,
    content_metadata,
    {{ load_columns() }}
from {{ source('tap_centaur', table) }}
{% endmacro %}

{% macro stg_case_results_v2(table) %}
select
    {{ case_columns() }},
    content_type,
    n_qualified_opinions as qualified_reads,
    coalesce(results, '{}'::jsonb[]) as results,
    {{ load_columns() }}
from {{ source('tap_centaur', table) }}
{% endmacro %}

{% macro case_columns() %}
    task_id, case_id, project_id, task_name, project_name, task_type, labeling_state
{% endmacro %}

{% macro load_columns() %}
    nullif(undocumented_fields, 'null'::jsonb) as undocumented_fields,
    _sdc_extracted_at at time zone 'UTC' as extracted_at,
    _sdc_sequence as message_sequence
{% endmacro %}

{#- Each case once, from a pair of staging models (a table of a stream and its `case_ids`
    counterpart, with the same columns): the row read last. -#}
{% macro read_last(first, second) %}
select distinct on (task_id, case_id) *
from (
    select * from {{ ref(first) }}
    union all
    select * from {{ ref(second) }}
) as both_tables
order by task_id, case_id, extracted_at desc, message_sequence desc
{% endmacro %}

{#- A label as text: class names joined with ', ', or the WKT. -#}
{% macro label_text(label) %}
    coalesce(array_to_string({{ label }}, ', '), {{ label }}_wkt)
{% endmacro %}

{#- The staging of a v1 results table (task_results, case_results): one row per case, typed,
    JSON null as SQL NULL, the tap's clock as timestamptz. -#}
{% macro stg_case_results(table) %}
select
    task_id,
    case_id,
    project_id,
    task_name,
    project_name,
    task_type,
    labeling_state,
    patch,
    qualified_reads,
    agreement,
    difficulty,
    correct_label,
    majority_label,
    correct_label_wkt,
    majority_label_wkt,
    coalesce(counts, '{}'::jsonb) as counts,
    (read_stats ->> 'total_reads')::integer as total_reads,
    (read_stats ->> 'first_read_at')::timestamptz as first_read_at,
    (read_stats ->> 'last_read_at')::timestamptz as last_read_at,
    content_metadata,
    nullif(undocumented_fields, 'null'::jsonb) as undocumented_fields,
    _sdc_extracted_at at time zone 'UTC' as extracted_at,
    _sdc_sequence as message_sequence
from {{ source('tap_centaur', table) }}
{% endmacro %}

{#- The staging of a v2 results table (task_results_v2, case_results_v2). -#}
{% macro stg_case_results_v2(table) %}
select
    task_id,
    case_id,
    project_id,
    task_name,
    project_name,
    task_type,
    content_type,
    labeling_state,
    n_qualified_opinions as qualified_reads,
    coalesce(results, '{}'::jsonb[]) as results,
    nullif(undocumented_fields, 'null'::jsonb) as undocumented_fields,
    _sdc_extracted_at at time zone 'UTC' as extracted_at,
    _sdc_sequence as message_sequence
from {{ source('tap_centaur', table) }}
{% endmacro %}

{#- A label as text: class names joined with ', ', or the WKT. -#}
{% macro label_text(label) %}
    coalesce(array_to_string({{ label }}, ', '), {{ label }}_wkt)
{% endmacro %}

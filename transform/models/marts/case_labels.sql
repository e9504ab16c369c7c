-- The latest label and labeling state of every case, read through results v1 or v2 (a task
-- read through v1 before and through v2 now, or the other way round, counts once, as read
-- last). v2 publishes no labels: their columns are NULL for v2 cases.
select distinct on (task_id, case_id) *
from (
    select
        task_id,
        case_id,
        task_name,
        task_type,
        'v1' as results_api,
        labeling_state,
        correct_label,
        majority_label,
        correct_label_wkt,
        majority_label_wkt,
        {{ label_text('correct_label') }} as correct_label_text,
        {{ label_text('majority_label') }} as majority_label_text,
        agreement,
        difficulty,
        qualified_reads,
        total_reads,
        last_read_at,
        extracted_at
    from {{ ref('int_case_results') }}
    union all
    select
        task_id,
        case_id,
        task_name,
        task_type,
        'v2' as results_api,
        labeling_state,
        null::text[],
        null::text[],
        null::text,
        null::text,
        null::text,
        null::text,
        null::numeric,
        null::numeric,
        qualified_reads,
        null::integer,
        null::timestamptz,
        extracted_at
    from {{ ref('int_case_results_v2') }}
) as both_apis
order by task_id, case_id, extracted_at desc

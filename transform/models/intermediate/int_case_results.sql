-- Every v1 case once: from task_results and case_results (the same fields), the row read last.
select distinct on (task_id, case_id) *
from (
    select * from {{ ref('stg_task_results') }}
    union all
    select * from {{ ref('stg_case_results') }}
) as both_tables
order by task_id, case_id, extracted_at desc, message_sequence desc

-- Every v2 case once: from task_results_v2 and case_results_v2, the row read last.
select distinct on (task_id, case_id) *
from (
    select * from {{ ref('stg_task_results_v2') }}
    union all
    select * from {{ ref('stg_case_results_v2') }}
) as both_tables
order by task_id, case_id, extracted_at desc, message_sequence desc

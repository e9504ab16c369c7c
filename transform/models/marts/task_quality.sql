-- Agreement and difficulty per task (v1). avg skips NULLs: cases without votes count in
-- `cases`, not in the means.
select
    task_id,
    (array_agg(task_name order by extracted_at desc))[1] as task_name,
    count(*) as cases,
    count(agreement) as cases_with_votes,
    round(avg(agreement), 4) as mean_agreement,
    round(avg(difficulty), 4) as mean_difficulty,
    count(*) filter (where agreement < 0.6) as low_agreement_cases
from {{ ref('int_case_results') }}
group by task_id

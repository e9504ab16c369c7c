-- The cases a sync read after the var changed_since: every case that changed after that
-- time and has been synced since (and those read for the first time, or again by a
-- --full-refresh or a lookback). Only task_results(_v2) are incremental: case_results(_v2)
-- are read in full by every sync, so their times say nothing and they are left out.
{% set since = "cast('" ~ var('changed_since') ~ "' as timestamptz)" %}
select task_id, case_id, 'v1' as results_api, labeling_state, extracted_at
from {{ ref('stg_task_results') }}
where extracted_at > {{ since }}
union all
select task_id, case_id, 'v2' as results_api, labeling_state, extracted_at
from {{ ref('stg_task_results_v2') }}
where extracted_at > {{ since }}

-- The cases in the labeling state Gold Standard, with their correct label.
select
    task_id,
    case_id,
    task_name,
    task_type,
    results_api,
    labeling_state,
    correct_label,
    correct_label_wkt,
    correct_label_text,
    qualified_reads,
    extracted_at
from {{ ref('case_labels') }}
where labeling_state = 'Gold Standard'

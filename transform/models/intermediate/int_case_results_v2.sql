-- Every v2 case once: from task_results_v2 and case_results_v2, the row read last.
{{ read_last('stg_task_results_v2', 'stg_case_results_v2') }}

-- Every v1 case once: from task_results and case_results, the row read last.
{{ read_last('stg_task_results', 'stg_case_results') }}

{{ stg_case_results_v2('task_results_v2') }}

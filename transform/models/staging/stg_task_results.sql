{{ stg_case_results('task_results') }}

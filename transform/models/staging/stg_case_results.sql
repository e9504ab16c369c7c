{{ stg_case_results('case_results') }}

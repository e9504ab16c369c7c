{{ stg_case_results_v2('case_results_v2') }}

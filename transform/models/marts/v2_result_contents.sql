-- Results v2 unnested: one row per element of `results` (a piece of content), in order from
-- 1, with its first frame's content id and origin, its frames, its prelabel, and the element
-- as the API sent it (`result`: whatever else it holds).
select
    results.task_id,
    results.case_id,
    element.position::integer as position,
    (element.item #>> '{content_metadata,0,content_id}')::bigint as content_id,
    element.item #>> '{content_metadata,0,origin}' as origin,
    case jsonb_typeof(element.item -> 'content_metadata')
        when 'array' then jsonb_array_length(element.item -> 'content_metadata')
    end as frames,
    element.item #>> '{prelabel,type}' as prelabel_type,
    element.item #>> '{prelabel,value}' as prelabel_value,
    element.item as result
from {{ ref('int_case_results_v2') }} as results
cross join lateral unnest(results.results) with ordinality as element (item, position)

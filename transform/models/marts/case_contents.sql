-- One row per piece of content of a v1 case (`content_metadata`, in order from 1).
select
    results.task_id,
    results.case_id,
    content.position::integer as position,
    (content.item ->> 'content_id')::bigint as content_id,
    content.item ->> 'origin' as origin,
    (content.item ->> 'origin_created_at')::timestamptz as origin_created_at,
    content.item ->> 'series' as series,
    (content.item ->> 'series_index')::integer as series_index
from {{ ref('int_case_results') }} as results
cross join lateral unnest(results.content_metadata) with ordinality as content (item, position)

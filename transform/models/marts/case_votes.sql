-- Votes per label per case (v1 `counts`): one row per label that got a vote.
select
    results.task_id,
    results.case_id,
    votes.label,
    votes.votes::integer as votes
from {{ ref('int_case_results') }} as results
cross join lateral jsonb_each_text(results.counts) as votes (label, votes)

select task_id, task_name, project_id, project_name, task_type
from {{ source('tap_centaur', 'tasks') }}
where _sdc_deleted_at is null

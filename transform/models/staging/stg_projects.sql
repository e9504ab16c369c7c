select project_id, project_name
from {{ source('tap_centaur', 'projects') }}
where _sdc_deleted_at is null

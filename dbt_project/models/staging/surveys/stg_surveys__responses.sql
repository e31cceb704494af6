select
    cast(partition_key as varchar) as partition_key,
    cast(instrument as varchar) as instrument,
    cast(wave as varchar) as wave,
    cast(response_key as varchar) as response_key,
    cast(respondent_key as varchar) as respondent_key,
    cast(dossier_key as varchar) as dossier_key,
    cast(is_complete as boolean) as is_complete,
    cast(lastpage as integer) as lastpage,
    cast(submitted_at as timestamp) as submitted_at,
    cast(started_at as timestamp) as started_at,
    cast(startlanguage as varchar) as startlanguage,
    cast(is_superseded as boolean) as is_superseded,
    cast(source_line as bigint) as source_line,
    cast(load_id as varchar) as load_id
from {{ source('raw_surveys', 'survey_responses') }}

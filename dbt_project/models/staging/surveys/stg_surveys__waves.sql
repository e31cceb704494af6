select
    cast(instrument as varchar) as instrument,
    cast(wave as varchar) as wave,
    cast(population as varchar) as population,
    cast(title as varchar) as instrument_title,
    cast(fieldwork_start as date) as fieldwork_start,
    cast(fieldwork_end as date) as fieldwork_end,
    cast(anonymised as boolean) as is_anonymised,
    cast(source_file as varchar) as source_file
from {{ source('raw_surveys', 'survey_waves') }}

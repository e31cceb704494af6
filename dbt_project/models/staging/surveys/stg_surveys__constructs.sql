select
    cast(instrument as varchar) as instrument,
    cast(wave as varchar) as wave,
    cast(construct as varchar) as construct,
    cast(label as varchar) as construct_label,
    cast(min_valid_share as double) as min_valid_share
from {{ source('raw_surveys', 'survey_constructs') }}

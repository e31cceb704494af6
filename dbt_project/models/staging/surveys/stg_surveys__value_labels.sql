select
    cast(instrument as varchar) as instrument,
    cast(wave as varchar) as wave,
    cast(item as varchar) as item,
    cast(value as double) as value,
    cast(label as varchar) as value_label
from {{ source('raw_surveys', 'survey_value_labels') }}

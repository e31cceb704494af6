select
    cast(partition_key as varchar) as partition_key,
    cast(instrument as varchar) as instrument,
    cast(wave as varchar) as wave,
    cast(response_key as varchar) as response_key,
    cast(item as varchar) as item,
    cast(source_column as varchar) as source_column,
    cast(raw_code as varchar) as raw_code,
    cast(value as double) as value,
    cast(missing_reason as varchar) as missing_reason,
    cast(source_line as bigint) as source_line
from {{ source('raw_surveys', 'survey_answers') }}

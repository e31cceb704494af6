select
    cast(instrument as varchar) as instrument,
    cast(wave as varchar) as wave,
    cast(item as varchar) as item,
    cast(item_text as varchar) as item_text,
    cast(role as varchar) as role,
    cast(construct as varchar) as construct,
    cast(reverse as boolean) as is_reversed,
    cast(scheme as varchar) as scheme,
    cast(scheme_signature as varchar) as scheme_signature,
    cast(scheme_min as double) as scheme_min,
    cast(scheme_max as double) as scheme_max,
    cast(is_nominal as boolean) as is_nominal,
    cast(is_text as boolean) as is_text,
    cast(source_column as varchar) as source_column,
    cast(instrument_version as varchar) as instrument_version
from {{ source('raw_surveys', 'survey_items') }}

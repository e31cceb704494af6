-- Waves of each instrument in order: by fieldwork_start, else by wave name (SPEC 3).
select
    instrument,
    wave,
    population,
    instrument_title,
    fieldwork_start,
    fieldwork_end,
    is_anonymised,
    row_number() over (
        partition by instrument
        order by case when fieldwork_start is null then 1 else 0 end, fieldwork_start, wave
    ) as wave_order
from {{ ref('stg_surveys__waves') }}

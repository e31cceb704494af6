-- The calendar year each survey wave stands for in the year x region tables: the year of
-- fieldwork_start (wave.yaml), else of fieldwork_end, else of the earliest submit date of the
-- wave's current responses; null when none of these is known (such a wave has no year row).
with submitted as (
    select
        instrument,
        wave,
        min(submitted_at) as first_submitted_at
    from {{ ref('int_survey_responses_current') }}
    group by instrument, wave
)

select
    w.instrument,
    w.wave,
    w.population,
    w.wave_order,
    w.fieldwork_start,
    w.fieldwork_end,
    cast(coalesce(
        extract(year from w.fieldwork_start),
        extract(year from w.fieldwork_end),
        extract(year from s.first_submitted_at)
    ) as {{ dbt.type_int() }}) as wave_year
from {{ ref('int_survey_waves_ordered') }} as w
left join submitted as s
    on s.instrument = w.instrument and s.wave = w.wave

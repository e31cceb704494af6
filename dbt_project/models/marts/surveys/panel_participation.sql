-- marts.panel_participation: instrument x respondent x wave (SPEC 4): every linkable respondent of an
-- instrument against every wave of that instrument. pattern is the respondent's whole history in wave
-- order, one character per wave: C = complete response, P = partial (incomplete) only, . = no response.
-- The characters are joined in wave_order by ordered_string_agg (macros/portability.sql): dbt's listagg
-- drops its order by on Spark (SPEC 7).
with respondents as (
    select distinct instrument, respondent_key
    from {{ ref('int_survey_responses_current') }}
    where respondent_key is not null
),

grid as (
    select r.instrument, r.respondent_key, w.wave, w.wave_order
    from respondents as r
    inner join {{ ref('int_survey_waves_ordered') }} as w on w.instrument = r.instrument
),

answered as (
    select instrument, respondent_key, wave, {{ dbt.bool_or('is_complete') }} as is_complete
    from {{ ref('int_survey_responses_current') }}
    where respondent_key is not null
    group by instrument, respondent_key, wave
),

cells as (
    select
        g.instrument,
        g.respondent_key,
        g.wave,
        g.wave_order,
        a.wave is not null as participated,
        coalesce(a.is_complete, false) as is_complete,
        case when a.wave is null then '.' when a.is_complete then 'C' else 'P' end as mark
    from grid as g
    left join answered as a
        on a.instrument = g.instrument and a.respondent_key = g.respondent_key and a.wave = g.wave
),

patterns as (
    select instrument, respondent_key, {{ ordered_string_agg('mark', 'wave_order', "''") }} as pattern
    from cells
    group by instrument, respondent_key
)

select
    c.instrument,
    c.respondent_key,
    c.wave,
    c.wave_order,
    c.participated,
    c.is_complete,
    p.pattern
from cells as c
inner join patterns as p on p.instrument = c.instrument and p.respondent_key = c.respondent_key

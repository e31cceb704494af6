-- marts.panel_participation_counts: instrument x number of waves taken part in (SPEC 4), from marts.panel_participation
-- (every linkable respondent, respondent_key not null, against every wave of the instrument).
--   n_waves_participated  '1', '2', ... (text), or 'all'
--   n_respondents         linkable respondents of the instrument with a response (complete or partial) in exactly that
--                         many of its waves; 'all' = every linkable respondent of the instrument (each has at least one)
--   n_waves               the instrument's number of waves;  sort_order  the number, n_waves + 1 for 'all'
--   n_participations      responses over the instrument's waves, one per respondent and wave (the same on every row of
--                         the instrument; = the sum over the numbers of number x n_respondents). Not published: the
--                         disclosure audit takes it as known, since the wave totals other tables publish can give it.
-- A number nobody has gets no row (every row has n_respondents >= 1); so 'all' is the sum of the rows that exist.
-- Portable SQL (SPEC 7): explicit casts, no qualify.
{%- set s = dbt.type_string() %}
{%- set i = dbt.type_int() %}
{%- set b = dbt.type_bigint() %}
with per_respondent as (
    select
        instrument,
        respondent_key,
        cast(sum(case when participated then 1 else 0 end) as {{ i }}) as n_participated
    from {{ ref('panel_participation') }}
    group by instrument, respondent_key
),

instruments as (
    select
        instrument,
        cast(count(distinct wave) as {{ i }}) as n_waves,
        cast(sum(case when participated then 1 else 0 end) as {{ b }}) as n_participations
    from {{ ref('panel_participation') }}
    group by instrument
),

by_number as (
    select
        instrument,
        cast(n_participated as {{ s }}) as n_waves_participated,
        n_participated as sort_order,
        cast(count(*) as {{ b }}) as n_respondents
    from per_respondent
    where n_participated >= 1
    group by instrument, n_participated
    union all
    select
        instrument,
        'all' as n_waves_participated,
        cast(null as {{ i }}) as sort_order,
        cast(count(*) as {{ b }}) as n_respondents
    from per_respondent
    where n_participated >= 1
    group by instrument
)

select
    c.instrument,
    c.n_waves_participated,
    w.n_waves,
    cast(coalesce(c.sort_order, w.n_waves + 1) as {{ i }}) as sort_order,
    c.n_respondents,
    w.n_participations
from by_number as c
inner join instruments as w on w.instrument = c.instrument

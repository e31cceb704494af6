-- reporting.panel_participation: marts.panel_participation_counts under disclosure control (SPEC 4, 6; rule in
-- macros/reporting/suppression.sql): per instrument, the linkable respondents by the number of the instrument's waves
-- they took part in, and 'all'. Cells: instrument x n_waves_participated; the margin is 'all' = the sum of the numbers
-- (a number nobody has has no row: a published zero). Primary: 0 < n_respondents < min_cell is withheld; secondary
-- along that margin (fixed pseudo-random order, never by value). n_participations (responses over all waves, the sum of
-- number x n_respondents) is not published; orchestration/disclosure (tables.py, panel_participation) takes it as
-- known to a reader and withholds more after the build where it and the margin would give a withheld count back.
{%- set s = dbt.type_string() %}
{%- set i = dbt.type_int() %}
{%- set b = dbt.type_bigint() %}
with mart as (
    -- empty while marts.panel_participation_counts was never built (e.g. a reporting-only build on hand-made marts)
    select * from {{ ref_or_empty('panel_participation_counts', [
        ['instrument', s], ['n_waves_participated', s], ['n_waves', i], ['sort_order', i], ['n_respondents', b],
        ['n_participations', b]]) }} as p
),

cells as (
    select
        cast(instrument as {{ s }}) as instrument,
        cast(n_waves_participated as {{ s }}) as n_waves_participated,
        n_respondents as cell_value
    from mart
),

{{ reporting_suppress('cells', keys=['instrument'], dims=['n_waves_participated']) }}

select
    m.instrument,
    m.n_waves_participated,
    m.n_waves,
    m.sort_order,
    case when c.is_hidden = 0 then m.n_respondents end as n_respondents,
    c.is_suppressed = 1 as n_respondents_suppressed,
    c.is_suppressed = 1 as suppressed
from mart as m
inner join cells_suppressed as c
    on c.instrument = cast(m.instrument as {{ s }})
    and c.n_waves_participated = cast(m.n_waves_participated as {{ s }})

-- reporting.practice_breadth: marts.practice_breadth under disclosure control (SPEC 5 "Breadth of practice per
-- quarter", 6; rule in macros/reporting/suppression.sql).
-- Cells: quarter x region x team x status, one measure group per event_type over the same open dossiers:
-- with_step (n_with_step), without_step (n_open - n_with_step: not shown but derivable, so a small complement is
-- protected too), all (n_open). Margins: team within region (team 'all' = the sum of the region's teams), region
-- ('all' = the sum of the regions' team-'all' rows) and status. n_open is one count per quarter x region x team:
-- withheld on every event_type row when any group withholds it.
-- Everything computed from a withheld count is null: share_with_step and its Wilson interval with n_open or
-- n_with_step. Floats rounded (reporting_round).
-- This is the first pass; orchestration/disclosure (tables.py, practice_breadth) withholds more after the build
-- where the relations need it (SPEC 6).
{%- set s = dbt.type_string() %}
{%- set f = type_double() %}
{%- set b = dbt.type_bigint() %}
with mart as (
    -- empty while marts.practice_breadth was never built (e.g. a reporting-only build on hand-made marts)
    select * from {{ ref_or_empty('practice_breadth', [
        ['quarter', s], ['quarter_end', 'date'], ['observed_extract_date', 'date'], ['region', s], ['team', s],
        ['event_type', s], ['n_open', b], ['n_with_step', b], ['share_with_step', f],
        ['share_with_step_ci_low', f], ['share_with_step_ci_high', f]]) }} as p
),

cells as (
    {{ suppression_cells('mart', ['event_type', 'quarter', 'region', 'team'], [
        ['with_step', 'n_with_step'],
        ['without_step', 'n_open - n_with_step'],
        ['all', 'n_open']]) }}
),

{{ reporting_suppress('cells', keys=['event_type', 'quarter'], dims=['region', 'team', 'status']) }},

step_flags as (
    {{ suppression_flags('cells_suppressed', ['event_type', 'quarter', 'region', 'team'], [
        ['n_with_step', "status = 'with_step'"]]) }}
),

open_flags as (
    {{ suppression_flags('cells_suppressed', ['quarter', 'region', 'team'], [
        ['n_open', "status = 'all'"]]) }}
)

select
    m.quarter,
    m.quarter_end,
    m.observed_extract_date,
    m.region,
    m.team,
    m.event_type,
    case when o.n_open_hidden = 0 then m.n_open end as n_open,
    case when f.n_with_step_hidden = 0 then m.n_with_step end as n_with_step,
    case when o.n_open_hidden = 0 and f.n_with_step_hidden = 0
        then {{ reporting_round('m.share_with_step') }} end as share_with_step,
    case when o.n_open_hidden = 0 and f.n_with_step_hidden = 0
        then {{ reporting_round('m.share_with_step_ci_low') }} end as share_with_step_ci_low,
    case when o.n_open_hidden = 0 and f.n_with_step_hidden = 0
        then {{ reporting_round('m.share_with_step_ci_high') }} end as share_with_step_ci_high,
    o.n_open_flag = 1 as n_open_suppressed,
    f.n_with_step_flag = 1 as n_with_step_suppressed,
    o.n_open_flag + f.n_with_step_flag > 0 as suppressed
from mart as m
inner join step_flags as f
    on f.event_type = cast(m.event_type as {{ s }})
    and f.quarter = cast(m.quarter as {{ s }})
    and f.region = cast(m.region as {{ s }})
    and f.team = cast(m.team as {{ s }})
inner join open_flags as o
    on o.quarter = cast(m.quarter as {{ s }})
    and o.region = cast(m.region as {{ s }})
    and o.team = cast(m.team as {{ s }})

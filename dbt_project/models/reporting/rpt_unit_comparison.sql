-- reporting.unit_comparison: the fair comparison of regions and teams (SPEC 9.3) under disclosure control (SPEC 6;
-- rule in macros/reporting/suppression.sql), from marts.unit_comparison_by_label (marts.unit_comparison with one team
-- row per published label, 'unknown' for the rest; team_key is not published).
-- Cells: indicator x region x team x period x status: observed, not_observed (n - observed: not shown but derivable,
-- so a small complement is protected too) and all (n). Margins: team within region (team 'all' = the sum of the
-- region's teams; there is no region 'all' row), period ('all' = the sum of the years) and status.
-- Everything computed from a withheld count is null: expected, expected_rate and the four funnel limits with n
-- (expected is a sum of reference rates over the unit's dossiers: it gives n away approximately) and with observed
-- (the reference rates come from every unit, so the expected of all regions of a period add up to their events:
-- a withheld observed would come back from them); oe_ratio,
-- observed_rate and flag with observed or n (flag says where observed lies). Floats rounded (reporting_round).
-- This is the first pass; orchestration/disclosure (tables.py, unit_comparison) withholds more after the build where
-- the relations need it, also those with reporting.outcome_placement and outcome_reopening (SPEC 6).
{%- set s = dbt.type_string() %}
{%- set f = type_double() %}
{%- set b = dbt.type_bigint() %}
with mart as (
    -- empty while marts.unit_comparison_by_label was never built (e.g. a reporting-only build on hand-made marts)
    select * from {{ ref_or_empty('unit_comparison_by_label', [
        ['indicator', s], ['unit_level', s], ['region', s], ['team', s], ['period', s], ['n', b], ['observed', b],
        ['expected', f], ['oe_ratio', f], ['observed_rate', f], ['expected_rate', f], ['limit95_low', f],
        ['limit95_high', f], ['limit998_low', f], ['limit998_high', f], ['flag', s]]) }} as u
),

cells as (
    {{ suppression_cells('mart', ['indicator', 'region', 'team', 'period'], [
        ['observed', 'observed'],
        ['not_observed', 'n - observed'],
        ['all', 'n']]) }}
),

{{ reporting_suppress('cells', keys=['indicator', 'region'], dims=['team', 'period', 'status']) }},

flags as (
    {{ suppression_flags('cells_suppressed', ['indicator', 'region', 'team', 'period'], [
        ['n', "status = 'all'"],
        ['observed', "status = 'observed'"]]) }}
)

select
    m.indicator,
    m.unit_level,
    m.region,
    m.team,
    m.period,
    case when c.n_hidden = 0 then m.n end as n,
    case when c.observed_hidden = 0 then m.observed end as observed,
    case when c.n_hidden = 0 and c.observed_hidden = 0 then {{ reporting_round('m.expected') }} end as expected,
    case when c.n_hidden = 0 and c.observed_hidden = 0 then {{ reporting_round('m.oe_ratio') }} end as oe_ratio,
    case when c.n_hidden = 0 and c.observed_hidden = 0 then {{ reporting_round('m.observed_rate') }} end
        as observed_rate,
    case when c.n_hidden = 0 and c.observed_hidden = 0 then {{ reporting_round('m.expected_rate') }} end
        as expected_rate,
    {%- for limit in ['limit95_low', 'limit95_high', 'limit998_low', 'limit998_high'] %}
    case when c.n_hidden = 0 and c.observed_hidden = 0 then {{ reporting_round('m.' ~ limit) }} end
        as {{ limit }},
    {%- endfor %}
    case when c.n_hidden = 0 and c.observed_hidden = 0 then m.flag end as flag,
    c.n_flag = 1 as n_suppressed,
    c.observed_flag = 1 as observed_suppressed,
    c.n_flag + c.observed_flag > 0 as suppressed
from mart as m
inner join flags as c
    on c.indicator = cast(m.indicator as {{ s }})
    and c.region = cast(m.region as {{ s }})
    and c.team = cast(m.team as {{ s }})
    and c.period = cast(m.period as {{ s }})

-- reporting.practice_depth: marts.practice_depth under disclosure control (SPEC 6; rule in
-- macros/reporting/suppression.sql).
-- Cells: period x region x team x status, in two measure groups over the same dossiers:
--   'standard': met (n_meeting_standard), not_met (n_audited - n_meeting_standard: not shown but
--               derivable, so a small complement is protected too), all (n_audited);
--   'double':   double (n_double_audited), single (n_audited - n_double_audited, derivable), all (n_audited).
-- Margins: team within region (team 'all' = the sum of the region's teams), region ('all' = the sum of
-- the regions' team-'all' rows) and status. n_audited is withheld when either group withholds it.
-- Everything computed from a withheld count is null: mean_depth with n_audited, share_meeting_standard
-- with n_audited or n_meeting_standard, kappa, icc and n_rating_pairs with n_double_audited.
-- This is the first pass; orchestration/disclosure (tables.py, practice_depth) withholds more after the
-- build where the relations need it (SPEC 6).
{%- set s = dbt.type_string() %}

{%- set f = type_double() %}
{%- set b = dbt.type_bigint() %}
with mart as (
    -- empty while marts.practice_depth was never built (e.g. a reporting-only build on hand-made marts)
    select * from {{ ref_or_empty('practice_depth', [
        ['region', s], ['team', s], ['period', s], ['n_audited', b], ['mean_depth', f],
        ['share_meeting_standard', f], ['n_double_audited', b], ['kappa', f], ['icc', f],
        ['n_meeting_standard', b], ['n_rating_pairs', b]]) }} as p
),

cells as (
    {{ suppression_cells('mart', ['period', 'region', 'team'], [
        ['standard', 'met', 'n_meeting_standard'],
        ['standard', 'not_met', 'n_audited - n_meeting_standard'],
        ['standard', 'all', 'n_audited'],
        ['double', 'double', 'n_double_audited'],
        ['double', 'single', 'n_audited - n_double_audited'],
        ['double', 'all', 'n_audited']]) }}
),

{{ reporting_suppress('cells', keys=['measure_group', 'period'], dims=['region', 'team', 'status']) }},

flags as (
    {{ suppression_flags('cells_suppressed', ['period', 'region', 'team'], [
        ['n_audited', "status = 'all'"],
        ['n_meeting', "measure_group = 'standard' and status = 'met'"],
        ['n_double', "measure_group = 'double' and status = 'double'"]]) }}
)

select
    m.region,
    m.team,
    m.period,
    case when f.n_audited_hidden = 0 then m.n_audited end as n_audited,
    case when f.n_audited_hidden = 0 then {{ reporting_round('m.mean_depth') }} end as mean_depth,
    case when f.n_audited_hidden = 0 and f.n_meeting_hidden = 0
        then {{ reporting_round('m.share_meeting_standard') }} end as share_meeting_standard,
    case when f.n_double_hidden = 0 then m.n_double_audited end as n_double_audited,
    case when f.n_double_hidden = 0 then {{ reporting_round('m.kappa') }} end as kappa,
    case when f.n_double_hidden = 0 then {{ reporting_round('m.icc') }} end as icc,
    case when f.n_meeting_hidden = 0 then m.n_meeting_standard end as n_meeting_standard,
    case when f.n_double_hidden = 0 then m.n_rating_pairs end as n_rating_pairs,
    f.n_audited_flag = 1 as n_audited_suppressed,
    f.n_meeting_flag = 1 as n_meeting_standard_suppressed,
    f.n_double_flag = 1 as n_double_audited_suppressed,
    f.n_audited_flag + f.n_meeting_flag + f.n_double_flag > 0 as suppressed
from mart as m
inner join flags as f
    on f.period = cast(m.period as {{ s }})
    and f.region = cast(m.region as {{ s }})
    and f.team = cast(m.team as {{ s }})

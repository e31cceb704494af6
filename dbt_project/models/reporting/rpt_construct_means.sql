-- reporting.construct_means: marts.construct_means under disclosure control (SPEC 6; rule in
-- macros/reporting/suppression.sql). Cells: per instrument x wave x measure the n_respondents of every
-- region x respondent group, with the margins region = 'all' (sum over regions, 'unknown' included) and
-- respondent_group = 'all' (sum over groups). Primary: 0 < n_respondents < min_cell is withheld; secondary
-- along both margins (fixed pseudo-random order, never by value); orchestration/disclosure then audits and
-- withholds more where needed (orchestration/disclosure/tables.py, table construct_means).
-- Everything computed from a withheld n_respondents is null: mean, sd, ci_lower, ci_upper.
-- The measure_kind = 'responses' rows are not published here: per region and group they equal the category
-- counts of the region and group attribute items in reporting.item_distribution, a link between the two
-- tables that the audit cannot see; the marts keep them (marts.region_period_outcomes reads them).
-- The mart is read as an empty relation while it has never been built (a warehouse built only partly).
{%- set s = dbt.type_string() -%}
{%- set b = dbt.type_bigint() -%}
{%- set f = type_double() %}
with mart as (
    select *
    from {{ ref_or_empty('construct_means', [
        ['instrument', s], ['population', s], ['wave', s], ['wave_order', b], ['wave_year', dbt.type_int()],
        ['measure_kind', s], ['measure', s], ['measure_label', s], ['region', s], ['respondent_group', s],
        ['n_respondents', b], ['mean', f], ['sd', f], ['ci_lower', f], ['ci_upper', f], ['scale_min', f],
        ['scale_max', f], ['scale_anchors', s], ['scheme_version', b]]) }} as cm
    where measure_kind <> 'responses'
),

cells as (
    select
        instrument,
        wave,
        measure_kind,
        measure,
        region,
        respondent_group,
        n_respondents as cell_value
    from mart
),

{{ reporting_suppress('cells', keys=['instrument', 'wave', 'measure_kind', 'measure'],
                      dims=['region', 'respondent_group']) }}

select
    m.instrument,
    m.population,
    m.wave,
    m.wave_order,
    m.wave_year,
    m.measure_kind,
    m.measure,
    m.measure_label,
    m.region,
    m.respondent_group,
    case when c.is_hidden = 0 then m.n_respondents end as n_respondents,
    case when c.is_hidden = 0 then {{ reporting_round('m.mean') }} end as mean,
    case when c.is_hidden = 0 then {{ reporting_round('m.sd') }} end as sd,
    case when c.is_hidden = 0 then {{ reporting_round('m.ci_lower') }} end as ci_lower,
    case when c.is_hidden = 0 then {{ reporting_round('m.ci_upper') }} end as ci_upper,
    m.scale_min,
    m.scale_max,
    m.scale_anchors,
    m.scheme_version,
    c.is_suppressed = 1 as n_respondents_suppressed,
    c.is_suppressed = 1 as suppressed
from mart as m
inner join cells_suppressed as c
    on c.instrument = m.instrument and c.wave = m.wave and c.measure_kind = m.measure_kind
    and c.measure = m.measure and c.region = m.region and c.respondent_group = m.respondent_group

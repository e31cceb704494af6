-- marts.fct_case_audit: one row per standing case-audit response = one auditor scoring one dossier
-- (SPEC 4, 5). Case-audit instruments are those whose population is 'auditor' (raw.survey_waves); the
-- rubric is the construct named by the dbt var audit_depth_construct, the auditor role the attribute
-- item named by audit_role_item. No instrument, item or construct name is written here.
--   depth_score      the construct score of SPEC 5: mean of the scored rubric items (value_scored) when
--                    n_items_scored >= ceil(min_valid_share x n_items) and > 0, else null
--   meets_standard   depth_score >= var audit_standard (default 3.0); null without a depth score
--   audit_date       the submit date; period = the half year ('2024H1', var audit_period half_year, the
--                    default) or the year ('2024', audit_period year) of the audit date, else of the
--                    wave's fieldwork_start
--   rater_seq        1 for the first auditor of the dossier in the period, 2 for the second ... by
--                    submit time, then response key, over responses with a depth score; an auditor's
--                    later response on the same dossier in the period gets null (not a second rater)
-- The dossier side (region, team, service, registration_year, SofS steps, hard outcomes) comes from
-- marts.fct_dossier (the latest extract) by dossier_key; dossier_found is false when the audited
-- dossier is not in it. Both sides are read through ref_or_empty, so the mart builds when
-- only surveys or only dossier extracts were ever loaded.
{%- set s = dbt.type_string() -%}
{%- set b = dbt.type_bigint() -%}
{%- set f = type_double() -%}
{%- set bool = dbt.type_boolean() -%}
{%- set by_year = var('audit_period', 'half_year') == 'year' %}

with responses as (
    select *
    from {{ ref_or_empty('int_case_audit_responses', [
        ['instrument', s], ['wave', s], ['response_key', s], ['respondent_key', s], ['dossier_key', s],
        ['is_complete', bool], ['submitted_at', dbt.type_timestamp()], ['audit_date', 'date'],
        ['period_date', 'date'], ['auditor_role', s], ['auditor_role_code', f]]) }} as r
),

scores as (
    select
        response_key,
        count(*) as n_items,
        count(value_scored) as n_items_scored,
        avg(value_scored) as mean_scored,
        max(min_valid_share) as min_valid_share
    from {{ ref_or_empty('int_case_audit_ratings', [
        ['response_key', s], ['value_scored', f], ['min_valid_share', f]]) }} as i
    group by response_key
),

audits as (
    select
        r.instrument,
        r.wave,
        r.response_key,
        r.respondent_key,
        r.dossier_key,
        r.is_complete,
        r.submitted_at,
        r.audit_date,
        {%- if by_year %}
        cast(extract(year from r.period_date) as {{ s }}) as period,
        {%- else %}
        {{ dbt.concat(["cast(extract(year from r.period_date) as " ~ s ~ ")", "'H'",
                       "case when extract(month from r.period_date) <= 6 then '1' else '2' end"]) }} as period,
        {%- endif %}
        r.auditor_role,
        r.auditor_role_code,
        cast(coalesce(sc.n_items, 0) as {{ b }}) as n_items,
        cast(coalesce(sc.n_items_scored, 0) as {{ b }}) as n_items_scored,
        case when sc.n_items_scored > 0 and sc.n_items_scored >= ceil(sc.min_valid_share * sc.n_items)
            then cast(sc.mean_scored as {{ f }}) end as depth_score
    from responses as r
    left join scores as sc
        on sc.response_key = r.response_key
),

first_per_auditor as (
    select
        response_key,
        dossier_key,
        period,
        submitted_at,
        row_number() over (
            partition by dossier_key, period, coalesce(respondent_key, response_key)
            order by case when submitted_at is null then 1 else 0 end, submitted_at, response_key
        ) as auditor_rank
    from audits
    where depth_score is not null and dossier_key is not null
),

rater_order as (
    select
        response_key,
        row_number() over (
            partition by dossier_key, period
            order by case when submitted_at is null then 1 else 0 end, submitted_at, response_key
        ) as rater_seq
    from first_per_auditor
    where auditor_rank = 1
),

dossiers as (
    select *
    from {{ ref_or_empty('fct_dossier', [
        ['dossier_key', s], ['service', s], ['region', s], ['team', s], ['registration_date', 'date'],
        ['closure_date', 'date'], ['registration_year', dbt.type_int()], ['is_closed', bool],
        ['has_mapping', bool], ['has_safety_plan', bool], ['has_network_meeting', bool],
        ['has_three_houses', bool], ['has_words_and_pictures', bool], ['placed_within_365d', bool],
        ['reopened_within_365d', bool]]) }} as d
)

select
    a.instrument,
    a.wave,
    a.period,
    a.response_key,
    a.respondent_key as auditor_key,
    a.dossier_key,
    a.audit_date,
    a.submitted_at,
    a.is_complete,
    a.auditor_role,
    cast(a.auditor_role_code as {{ f }}) as auditor_role_code,
    a.depth_score,
    a.n_items_scored,
    a.n_items,
    case when a.depth_score is not null then a.depth_score >= {{ var('audit_standard') }} end as meets_standard,
    cast(o.rater_seq as {{ b }}) as rater_seq,
    d.dossier_key is not null as dossier_found,
    d.region,
    d.team,
    d.service,
    d.registration_year,
    d.registration_date,
    d.closure_date,
    case
        when d.dossier_key is null or a.audit_date is null then null
        else d.registration_date <= a.audit_date and (d.closure_date is null or d.closure_date >= a.audit_date)
    end as dossier_open_at_audit,
    d.has_mapping,
    d.has_safety_plan,
    d.has_network_meeting,
    d.has_three_houses,
    d.has_words_and_pictures,
    d.is_closed,
    d.placed_within_365d,
    d.reopened_within_365d
from audits as a
left join rater_order as o
    on o.response_key = a.response_key
left join dossiers as d
    on d.dossier_key = a.dossier_key

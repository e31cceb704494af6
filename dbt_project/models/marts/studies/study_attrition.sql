-- marts.study_attrition: the CONSORT-style flow per study x follow-up month (SPEC 9.1), from
-- marts.study_follow_up. n_enrolled (the study's enrolled dossiers, equal in every month of a study), n_due
-- (status observed or lost), n_observed, n_lost (n_due = n_observed + n_lost), n_with_client_feedback and
-- n_with_child_feedback (due dossiers with at least one client / child feedback response in the window).
-- Every follow-up month of every study has a row, with zeros when nobody is enrolled.
with months as (
    select m.study, m.follow_up_month
    from {{ ref('stg_studies__follow_up_months') }} as m
    inner join {{ ref('stg_studies__definitions') }} as d
        on d.study = m.study
),

enrolled as (
    select study, count(*) as n_enrolled
    from {{ ref_or_empty('study_enrolment', [['study', dbt.type_string()], ['dossier_key', dbt.type_string()]]) }} as e
    group by study
),

flow as (
    select
        study,
        follow_up_month,
        sum(case when status <> 'not_yet_due' then 1 else 0 end) as n_due,
        sum(case when status = 'observed' then 1 else 0 end) as n_observed,
        sum(case when status = 'lost' then 1 else 0 end) as n_lost,
        sum(case when n_client_feedback > 0 then 1 else 0 end) as n_with_client_feedback,
        sum(case when n_child_feedback > 0 then 1 else 0 end) as n_with_child_feedback
    from {{ ref('study_follow_up') }}
    group by study, follow_up_month
)

select
    m.study,
    m.follow_up_month,
    cast(coalesce(e.n_enrolled, 0) as {{ dbt.type_bigint() }}) as n_enrolled,
    cast(coalesce(f.n_due, 0) as {{ dbt.type_bigint() }}) as n_due,
    cast(coalesce(f.n_observed, 0) as {{ dbt.type_bigint() }}) as n_observed,
    cast(coalesce(f.n_lost, 0) as {{ dbt.type_bigint() }}) as n_lost,
    cast(coalesce(f.n_with_client_feedback, 0) as {{ dbt.type_bigint() }}) as n_with_client_feedback,
    cast(coalesce(f.n_with_child_feedback, 0) as {{ dbt.type_bigint() }}) as n_with_child_feedback
from months as m
left join enrolled as e
    on e.study = m.study
left join flow as f
    on f.study = m.study and f.follow_up_month = m.follow_up_month

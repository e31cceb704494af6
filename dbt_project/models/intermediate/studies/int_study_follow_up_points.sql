-- One row per study x enrolled dossier x follow-up month (SPEC 9.1): the follow-up date (registration_date plus
-- follow_up_month calendar months; a day that does not exist in the target month becomes its last day, e.g.
-- 2024-01-31 + 1 month = 2024-02-29) and observed_extract_date, the first loaded extract dated on or after the
-- follow-up date (null while no such extract is loaded: the point is not yet due).
with enrolled as (
    select * from {{ ref('study_enrolment') }}
),

months as (
    select * from {{ ref('stg_studies__follow_up_months') }}
),

defs as (
    select study, feedback_window_days from {{ ref('stg_studies__definitions') }}
),

points as (
    select
        e.study,
        e.dossier_key,
        e.child_key,
        e.registration_date,
        m.follow_up_month,
        cast({{ dbt.dateadd('month', 'm.follow_up_month', 'e.registration_date') }} as date) as follow_up_date,
        d.feedback_window_days
    from enrolled as e
    inner join months as m
        on m.study = e.study
    inner join defs as d
        on d.study = e.study
),

first_extract as (
    select
        p.study,
        p.dossier_key,
        p.follow_up_month,
        min(x.extract_date) as observed_extract_date
    from points as p
    inner join {{ ref('stg_dossiers__extracts') }} as x
        on x.extract_date >= p.follow_up_date
    group by p.study, p.dossier_key, p.follow_up_month
)

select
    p.study,
    p.dossier_key,
    p.child_key,
    p.registration_date,
    p.follow_up_month,
    p.follow_up_date,
    p.feedback_window_days,
    f.observed_extract_date
from points as p
left join first_extract as f
    on f.study = p.study and f.dossier_key = p.dossier_key and f.follow_up_month = p.follow_up_month

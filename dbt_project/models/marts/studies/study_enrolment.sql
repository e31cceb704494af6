-- marts.study_enrolment: one row per study x enrolled dossier (SPEC 9.1).
-- A dossier is enrolled in a study when its registration_date lies in [enrolment_from, enrolment_to] and it
-- passes every filter the study sets: service, region and team (the published team label, or the team_key)
-- among the listed values, and age_at_registration = registration year - birth_year (whole years; the
-- extract has no birth date) within [age_min, age_max] (a dossier without birth_year fails an age filter).
-- The enrolment reads each dossier's last known version: its version in the latest extract, or, for a
-- dossier that has vanished from the case system, its version in the last extract that held it (such a
-- dossier stays enrolled and its later follow-up points are 'lost'). A later extract that corrects a
-- registration date or service can therefore move a dossier into or out of a study.
with defs as (
    select * from {{ ref('stg_studies__definitions') }}
),

filters as (
    select * from {{ ref('stg_studies__filters') }}
),

versions as (
    select
        v.*,
        row_number() over (partition by v.dossier_key order by v.valid_from desc) as version_rank
    from {{ ref('stg_dossiers__dossiers') }} as v
),

known as (
    select
        dossier_key,
        child_key,
        service,
        region,
        team_key,
        team,
        registration_date,
        birth_year,
        valid_to is null as in_latest_extract,
        cast(extract(year from registration_date) as {{ dbt.type_int() }}) - birth_year as age_at_registration
    from versions
    where version_rank = 1
),

candidates as (
    select
        s.study,
        k.*
    from defs as s
    inner join known as k
        on k.registration_date >= s.enrolment_from
        and k.registration_date <= s.enrolment_to
    where (s.age_min is null or k.age_at_registration >= s.age_min)
        and (s.age_max is null or k.age_at_registration <= s.age_max)
),

needed as (
    select study, count(distinct dimension) as n_dimensions
    from filters
    group by study
),

matched as (
    select
        c.study,
        c.dossier_key,
        count(distinct f.dimension) as n_dimensions
    from candidates as c
    inner join filters as f
        on f.study = c.study
        and ((f.dimension = 'service' and f.filter_value = c.service)
            or (f.dimension = 'region' and f.filter_value = c.region)
            or (f.dimension = 'team' and (f.filter_value = c.team or f.filter_value = c.team_key)))
    group by c.study, c.dossier_key
)

select
    c.study,
    c.dossier_key,
    c.child_key,
    c.registration_date,
    c.service,
    c.region,
    c.team,
    -- additions
    c.team_key,
    cast(c.age_at_registration as {{ dbt.type_int() }}) as age_at_registration,
    c.in_latest_extract
from candidates as c
left join needed as n
    on n.study = c.study
left join matched as m
    on m.study = c.study and m.dossier_key = c.dossier_key
where coalesce(n.n_dimensions, 0) = coalesce(m.n_dimensions, 0)

-- Dossiers of the latest loaded extract, with that extract's date as as_of_date (SPEC 5).
-- Extracts are full snapshots: the latest one supersedes the earlier ones; their rows stay in raw.
with latest as (
    select max(extract_date) as as_of_date
    from {{ ref('stg_dossiers__dossiers') }}
)

select
    d.dossier_key,
    d.child_key,
    d.service,
    d.region,
    d.team_key,
    d.team,
    d.registration_date,
    d.closure_date,
    d.closure_reason,
    d.birth_year,
    d.sex,
    latest.as_of_date
from {{ ref('stg_dossiers__dossiers') }} as d
inner join latest
    on d.extract_date = latest.as_of_date

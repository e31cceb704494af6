-- Dossiers of the latest loaded extract, with that extract's date as as_of_date (SPEC 4, 5): the
-- versions valid in it. Extracts are full snapshots: the latest one supersedes the earlier ones.
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
from {{ in_latest_extract(ref('stg_dossiers__dossiers'), 'd') }}

-- raw.dossier_versions as typed columns: one row per version of a dossier (SPEC 3.4, 4). Rename and cast only.
select
    cast(dossier_key as {{ dbt.type_string() }}) as dossier_key,
    cast(child_key as {{ dbt.type_string() }}) as child_key,
    cast(service as {{ dbt.type_string() }}) as service,
    cast(region as {{ dbt.type_string() }}) as region,
    cast(team_key as {{ dbt.type_string() }}) as team_key,
    cast(team as {{ dbt.type_string() }}) as team,
    cast(registration_date as date) as registration_date,
    cast(closure_date as date) as closure_date,
    cast(closure_reason as {{ dbt.type_string() }}) as closure_reason,
    cast(birth_year as {{ dbt.type_int() }}) as birth_year,
    cast(sex as {{ dbt.type_string() }}) as sex,
    cast(source_line as {{ dbt.type_bigint() }}) as source_line,
    cast(load_id as {{ dbt.type_string() }}) as load_id,
    cast(valid_from as date) as valid_from,
    cast(valid_to as date) as valid_to
from {{ source('raw_dossiers', 'dossier_versions') }}

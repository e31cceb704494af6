-- raw.dossier_extracts as typed columns: one row per loaded dossier extract (SPEC 4). Rename and cast only.
select
    cast(extract_date as date) as extract_date,
    cast(partition_key as {{ dbt.type_string() }}) as partition_key,
    cast(load_id as {{ dbt.type_string() }}) as load_id,
    cast(n_dossiers as {{ dbt.type_bigint() }}) as n_dossiers,
    cast(n_placements as {{ dbt.type_bigint() }}) as n_placements,
    cast(n_practice_events as {{ dbt.type_bigint() }}) as n_practice_events,
    cast(n_new_versions as {{ dbt.type_bigint() }}) as n_new_versions,
    cast(n_closed_versions as {{ dbt.type_bigint() }}) as n_closed_versions
from {{ source('raw_dossiers', 'dossier_extracts') }}

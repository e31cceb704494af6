-- raw.placements as typed columns: one row per placement spell per loaded extract (SPEC 3.4). Rename and cast only.
select
    cast(partition_key as {{ dbt.type_string() }}) as partition_key,
    cast(extract_date as date) as extract_date,
    cast(placement_key as {{ dbt.type_string() }}) as placement_key,
    cast(dossier_key as {{ dbt.type_string() }}) as dossier_key,
    cast(start_date as date) as start_date,
    cast(end_date as date) as end_date,
    cast(placement_type as {{ dbt.type_string() }}) as placement_type,
    cast(source_line as {{ dbt.type_bigint() }}) as source_line,
    cast(load_id as {{ dbt.type_string() }}) as load_id
from {{ source('raw_dossiers', 'placements') }}

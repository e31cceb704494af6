-- raw.dossier_placement_versions as typed columns: one row per version of an out-of-home placement spell
-- (SPEC 3.4, 4). Rename and cast only.
select
    cast(placement_key as {{ dbt.type_string() }}) as placement_key,
    cast(dossier_key as {{ dbt.type_string() }}) as dossier_key,
    cast(start_date as date) as start_date,
    cast(end_date as date) as end_date,
    cast(placement_type as {{ dbt.type_string() }}) as placement_type,
    cast(source_line as {{ dbt.type_bigint() }}) as source_line,
    cast(load_id as {{ dbt.type_string() }}) as load_id,
    cast(valid_from as date) as valid_from,
    cast(valid_to as date) as valid_to
from {{ source('raw_dossiers', 'dossier_placement_versions') }}

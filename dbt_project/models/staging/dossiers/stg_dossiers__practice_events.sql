-- raw.dossier_event_versions as typed columns: one row per version of a recorded SofS step (SPEC 3.4, 4).
-- Rename and cast only.
select
    cast(event_key as {{ dbt.type_string() }}) as event_key,
    cast(dossier_key as {{ dbt.type_string() }}) as dossier_key,
    cast(event_date as date) as event_date,
    cast(event_type as {{ dbt.type_string() }}) as event_type,
    cast(value as {{ type_double() }}) as scaling_value,
    cast(rated_by as {{ dbt.type_string() }}) as rated_by,
    cast(source_line as {{ dbt.type_bigint() }}) as source_line,
    cast(load_id as {{ dbt.type_string() }}) as load_id,
    cast(valid_from as date) as valid_from,
    cast(valid_to as date) as valid_to
from {{ source('raw_dossiers', 'dossier_event_versions') }}

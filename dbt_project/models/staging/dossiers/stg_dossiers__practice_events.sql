-- raw.practice_events as typed columns: one row per recorded SofS step per loaded extract (SPEC 3.4). Rename and cast only.
select
    cast(partition_key as {{ dbt.type_string() }}) as partition_key,
    cast(extract_date as date) as extract_date,
    cast(event_key as {{ dbt.type_string() }}) as event_key,
    cast(dossier_key as {{ dbt.type_string() }}) as dossier_key,
    cast(event_date as date) as event_date,
    cast(event_type as {{ dbt.type_string() }}) as event_type,
    cast(value as {{ outcome_type_double() }}) as scaling_value,
    cast(rated_by as {{ dbt.type_string() }}) as rated_by,
    cast(source_line as {{ dbt.type_bigint() }}) as source_line,
    cast(load_id as {{ dbt.type_string() }}) as load_id
from {{ source('raw_dossiers', 'practice_events') }}

-- raw.survey_responses as typed columns: one row per response per loaded wave (SPEC 3.1, 5). Rename and cast only.
-- Type names through dbt's cross-database macros, so that the model runs on DuckDB and Spark (SPEC 7).
select
    cast(partition_key as {{ dbt.type_string() }}) as partition_key,
    cast(instrument as {{ dbt.type_string() }}) as instrument,
    cast(wave as {{ dbt.type_string() }}) as wave,
    cast(response_key as {{ dbt.type_string() }}) as response_key,
    cast(respondent_key as {{ dbt.type_string() }}) as respondent_key,
    cast(dossier_key as {{ dbt.type_string() }}) as dossier_key,
    cast(is_complete as {{ dbt.type_boolean() }}) as is_complete,
    cast(lastpage as {{ dbt.type_int() }}) as lastpage,
    cast(submitted_at as {{ dbt.type_timestamp() }}) as submitted_at,
    cast(started_at as {{ dbt.type_timestamp() }}) as started_at,
    cast(startlanguage as {{ dbt.type_string() }}) as startlanguage,
    cast(is_superseded as {{ dbt.type_boolean() }}) as is_superseded,
    cast(source_line as {{ dbt.type_bigint() }}) as source_line,
    cast(load_id as {{ dbt.type_string() }}) as load_id
from {{ source('raw_surveys', 'survey_responses') }}

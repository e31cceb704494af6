-- raw.survey_answers as typed columns: one row per response x item as loaded (SPEC 3.3). Rename and cast only.
-- Type names through dbt's cross-database macros, so that the model runs on DuckDB and Spark (SPEC 7).
select
    cast(partition_key as {{ dbt.type_string() }}) as partition_key,
    cast(instrument as {{ dbt.type_string() }}) as instrument,
    cast(wave as {{ dbt.type_string() }}) as wave,
    cast(response_key as {{ dbt.type_string() }}) as response_key,
    cast(item as {{ dbt.type_string() }}) as item,
    cast(source_column as {{ dbt.type_string() }}) as source_column,
    cast(raw_code as {{ dbt.type_string() }}) as raw_code,
    cast(value as {{ type_double() }}) as value,
    cast(missing_reason as {{ dbt.type_string() }}) as missing_reason,
    cast(source_line as {{ dbt.type_bigint() }}) as source_line
from {{ source('raw_surveys', 'survey_answers') }}

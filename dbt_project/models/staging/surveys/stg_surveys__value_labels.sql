-- raw.survey_value_labels as typed columns: value labels of each item's answer scheme per wave (SPEC 3.3). Rename and cast only.
-- Type names through dbt's cross-database macros, so that the model runs on DuckDB and Spark (SPEC 7).
select
    cast(instrument as {{ dbt.type_string() }}) as instrument,
    cast(wave as {{ dbt.type_string() }}) as wave,
    cast(item as {{ dbt.type_string() }}) as item,
    cast(value as {{ type_double() }}) as value,
    cast(label as {{ dbt.type_string() }}) as value_label
from {{ source('raw_surveys', 'survey_value_labels') }}

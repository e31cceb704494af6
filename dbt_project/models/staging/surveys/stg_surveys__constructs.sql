-- raw.survey_constructs as typed columns: the constructs (scales) each wave was loaded with (SPEC 3.3). Rename and cast only.
-- Type names through dbt's cross-database macros, so that the model runs on DuckDB and Spark (SPEC 7).
select
    cast(instrument as {{ dbt.type_string() }}) as instrument,
    cast(wave as {{ dbt.type_string() }}) as wave,
    cast(construct as {{ dbt.type_string() }}) as construct,
    cast(label as {{ dbt.type_string() }}) as construct_label,
    cast(min_valid_share as {{ type_double() }}) as min_valid_share
from {{ source('raw_surveys', 'survey_constructs') }}

-- raw.survey_items as typed columns: the items of each wave with the answer-scheme version they were decoded with (SPEC 3.3). Rename and cast only.
-- Type names through dbt's cross-database macros, so that the model runs on DuckDB and Spark (SPEC 7).
select
    cast(instrument as {{ dbt.type_string() }}) as instrument,
    cast(wave as {{ dbt.type_string() }}) as wave,
    cast(item as {{ dbt.type_string() }}) as item,
    cast(item_text as {{ dbt.type_string() }}) as item_text,
    cast(role as {{ dbt.type_string() }}) as role,
    cast(construct as {{ dbt.type_string() }}) as construct,
    cast(reverse as {{ dbt.type_boolean() }}) as is_reversed,
    cast(scheme as {{ dbt.type_string() }}) as scheme,
    cast(scheme_signature as {{ dbt.type_string() }}) as scheme_signature,
    cast(scheme_min as {{ type_double() }}) as scheme_min,
    cast(scheme_max as {{ type_double() }}) as scheme_max,
    cast(is_nominal as {{ dbt.type_boolean() }}) as is_nominal,
    cast(is_text as {{ dbt.type_boolean() }}) as is_text,
    cast(source_column as {{ dbt.type_string() }}) as source_column,
    cast(instrument_version as {{ dbt.type_string() }}) as instrument_version,
    cast(scheme_fingerprint as {{ dbt.type_string() }}) as scheme_fingerprint,
    cast(coding_fingerprint as {{ dbt.type_string() }}) as coding_fingerprint,
    cast(item_kind as {{ dbt.type_string() }}) as item_kind,
    cast(scheme_anchors as {{ dbt.type_string() }}) as scheme_anchors
from {{ source('raw_surveys', 'survey_items') }}

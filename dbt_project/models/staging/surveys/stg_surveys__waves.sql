-- raw.survey_waves as typed columns: one row per loaded wave with its wave.yaml fields (SPEC 3). Rename and cast only.
-- Type names through dbt's cross-database macros, so that the model runs on DuckDB and Spark (SPEC 7).
select
    cast(instrument as {{ dbt.type_string() }}) as instrument,
    cast(wave as {{ dbt.type_string() }}) as wave,
    cast(population as {{ dbt.type_string() }}) as population,
    cast(title as {{ dbt.type_string() }}) as instrument_title,
    cast(fieldwork_start as date) as fieldwork_start,
    cast(fieldwork_end as date) as fieldwork_end,
    cast(anonymised as {{ dbt.type_boolean() }}) as is_anonymised,
    cast(source_file as {{ dbt.type_string() }}) as source_file,
    cast(respondent_group_item as {{ dbt.type_string() }}) as respondent_group_item,
    cast(respondent_group_codes as {{ dbt.type_string() }}) as respondent_group_codes,
    cast(respondent_group_label as {{ dbt.type_string() }}) as respondent_group_label,
    cast(region_item as {{ dbt.type_string() }}) as region_item,
    cast(coalesce(region_from_dossier, false) as {{ dbt.type_boolean() }}) as region_from_dossier,
    cast(coalesce(has_dossier_key, false) as {{ dbt.type_boolean() }}) as has_dossier_key
from {{ source('raw_surveys', 'survey_waves') }}

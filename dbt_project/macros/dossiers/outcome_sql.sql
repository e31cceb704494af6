{#-
  Engine-specific SQL for the dossier outcome marts (SPEC 5, 7), behind adapter.dispatch so the same
  models run on DuckDB (default engine) and Spark (dbt-spark). Everything else in the dossier models
  uses dbt's cross-database macros (dbt.datediff, dbt.bool_or, dbt.type_string, ...).
-#}

{#- A double-precision floating type (dbt.type_float() is a 4-byte FLOAT on DuckDB). -#}
{% macro outcome_type_double() -%}
    {{ return(adapter.dispatch('outcome_type_double')()) }}
{%- endmacro %}
{% macro default__outcome_type_double() -%}double precision{%- endmacro %}
{% macro duckdb__outcome_type_double() -%}double{%- endmacro %}
{% macro spark__outcome_type_double() -%}double{%- endmacro %}

{#- Natural logarithm and exponential, for the Kaplan-Meier product S(t) = exp(sum(ln(1 - d/n))). -#}
{% macro outcome_ln(expression) -%}
    {{ return(adapter.dispatch('outcome_ln')(expression)) }}
{%- endmacro %}
{% macro default__outcome_ln(expression) -%}ln({{ expression }}){%- endmacro %}

{% macro outcome_exp(expression) -%}
    {{ return(adapter.dispatch('outcome_exp')(expression)) }}
{%- endmacro %}
{% macro default__outcome_exp(expression) -%}exp({{ expression }}){%- endmacro %}

{#- Median by linear interpolation between the two middle values (an aggregate). -#}
{% macro outcome_median(expression) -%}
    {{ return(adapter.dispatch('outcome_median')(expression)) }}
{%- endmacro %}
{% macro default__outcome_median(expression) -%}
    percentile_cont(0.5) within group (order by {{ expression }})
{%- endmacro %}
{% macro duckdb__outcome_median(expression) -%}
    quantile_cont({{ expression }}, 0.5)
{%- endmacro %}
{% macro spark__outcome_median(expression) -%}
    percentile({{ expression }}, 0.5)
{%- endmacro %}

{#-
  The eight grouping levels of an outcome mart: every combination of (year, service, region) kept or
  collapsed to 'all'. Cross join a relation with this and group by outcome_group_columns(...) to get
  the detailed cells and all margins in one pass (portable: no CUBE / GROUPING SETS needed).
-#}
{% macro outcome_grouping_levels() -%}
    {%- set rows = [] -%}
    {%- for by_year in ['true', 'false'] -%}
      {%- for by_service in ['true', 'false'] -%}
        {%- for by_region in ['true', 'false'] -%}
          {%- do rows.append('select ' ~ by_year ~ ' as by_year, ' ~ by_service ~ ' as by_service, ' ~ by_region ~ ' as by_region') -%}
        {%- endfor -%}
      {%- endfor -%}
    {%- endfor -%}
    {{ rows | join('\n    union all ') }}
{%- endmacro %}

{#- The three grouping columns for a row of `levels`: the value, or the literal 'all'. The year is a
    string so that 'all' fits in the same column. -#}
{% macro outcome_group_columns(year_column, levels='levels') -%}
    case when {{ levels }}.by_year then cast({{ year_column }} as {{ dbt.type_string() }}) else 'all' end as {{ year_column }},
    case when {{ levels }}.by_service then service else 'all' end as service,
    case when {{ levels }}.by_region then region else 'all' end as region
{%- endmacro %}

{#- A ratio as double, null when the denominator is 0 or null. -#}
{% macro outcome_ratio(numerator, denominator, scale=1) -%}
    case when {{ denominator }} > 0
         then {{ scale }} * cast({{ numerator }} as {{ outcome_type_double() }}) / {{ denominator }} end
{%- endmacro %}

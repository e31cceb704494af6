{#-
  Margins without CUBE / GROUPING SETS (portable, SPEC 7): cross join a relation with a "levels" relation and
  group by the columns these macros give, to get the detailed cells and every 'all' margin in one pass.
-#}

{#-
  year_service_region_levels(): a relation body with the eight rows (by_year, by_service, by_region) of
  booleans: every combination of (year, service, region) kept or collapsed to 'all' (the outcome marts, SPEC 5).
-#}
{% macro year_service_region_levels() -%}
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

{#- year_service_region_columns(year_column, levels='levels'): the three grouping columns for a row of
    `levels` (year_service_region_levels): the value, or the literal 'all'. The year is a string so that 'all'
    fits in the same column. -#}
{% macro year_service_region_columns(year_column, levels='levels') -%}
    case when {{ levels }}.by_year then cast({{ year_column }} as {{ dbt.type_string() }}) else 'all' end as {{ year_column }},
    case when {{ levels }}.by_service then service else 'all' end as service,
    case when {{ levels }}.by_region then region else 'all' end as region
{%- endmacro %}

{#- region_levels(): two rows (by_region): by region, and the 'all' row over every region. -#}
{% macro region_levels() -%}
    select true as by_region union all select false as by_region
{%- endmacro %}

{#- region_or_all(region_column='region', levels='levels'): the region for a row of `levels` (region_levels),
    or the literal 'all'. -#}
{% macro region_or_all(region_column='region', levels='levels') -%}
    case when {{ levels }}.by_region then {{ region_column }} else 'all' end
{%- endmacro %}

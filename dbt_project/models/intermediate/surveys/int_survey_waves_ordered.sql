-- Waves of each instrument in order (SPEC 3; orchestration/waves.py applies the same rule in Python and
-- `sofs-warehouse status` shows it): by order_date = fieldwork_start, else an ISO date in the wave name,
-- else a year and month (2023-03, 2023_03), else a year (19xx/20xx) on the first day of the month a season
-- or quarter word gives (else January); waves without any of these last; ties by wave name.
-- (Before 2026-12 undated waves sorted after every dated wave, so scale_change could run 2023 -> 2019.)
{%- set seasons = [('q1', 1), ('q2', 4), ('q3', 7), ('q4', 10), ('h1', 1), ('h2', 7),
                   ('voorjaar', 3), ('lente', 3), ('spring', 3), ('zomer', 6), ('summer', 6),
                   ('najaar', 9), ('herfst', 9), ('autumn', 9), ('fall', 9), ('winter', 12)] %}
with waves as (
    select
        *,
        regexp_extract(wave, '(^|[^0-9])((19|20)[0-9]{2})-([01][0-9])-([0-3][0-9])([^0-9]|$)', 2) as iso_y,
        regexp_extract(wave, '(^|[^0-9])((19|20)[0-9]{2})-([01][0-9])-([0-3][0-9])([^0-9]|$)', 4) as iso_m,
        regexp_extract(wave, '(^|[^0-9])((19|20)[0-9]{2})-([01][0-9])-([0-3][0-9])([^0-9]|$)', 5) as iso_d,
        regexp_extract(wave, '(^|[^0-9])((19|20)[0-9]{2})[-_]([01][0-9])([^0-9]|$)', 2) as ym_y,
        regexp_extract(wave, '(^|[^0-9])((19|20)[0-9]{2})[-_]([01][0-9])([^0-9]|$)', 4) as ym_m,
        regexp_extract(wave, '(^|[^0-9])((19|20)[0-9]{2})([^0-9]|$)', 2) as y_y,
        case
        {%- for word, month in seasons %}
            when lower(wave) like '%{{ word }}%' then '{{ "%02d" % month }}'
        {%- endfor %}
            else '01'
        end as season_m
    from {{ ref('stg_surveys__waves') }}
),

dated as (
    select
        *,
        {{ dbt.safe_cast("case when iso_y <> '' then iso_y || '-' || iso_m || '-' || iso_d end",
                         api.Column.translate_type("date")) }} as iso_date,
        case when ym_y <> '' and ym_m between '01' and '12'
             then {{ dbt.safe_cast("ym_y || '-' || ym_m || '-01'", api.Column.translate_type("date")) }} end as ym_date,
        case when y_y <> ''
             then {{ dbt.safe_cast("y_y || '-' || season_m || '-01'", api.Column.translate_type("date")) }} end as y_date
    from waves
),

ordered as (
    select
        *,
        coalesce(fieldwork_start, iso_date, ym_date, y_date) as order_date,
        case
            when fieldwork_start is not null then 'fieldwork_start'
            when iso_date is not null then 'date in name'
            when ym_date is not null then 'year and month in name'
            when y_date is not null then 'year in name'
            else 'name'
        end as order_basis
    from dated
)

select
    instrument,
    wave,
    population,
    instrument_title,
    fieldwork_start,
    fieldwork_end,
    is_anonymised,
    order_date,
    order_basis,
    -- bigint on every engine (row_number() is an int on Spark, a bigint on DuckDB: SPEC 7)
    cast(row_number() over (
        partition by instrument
        order by case when order_date is null then 1 else 0 end, order_date, wave
    ) as {{ dbt.type_bigint() }}) as wave_order
from ordered

-- Placement spells of the latest extract per dossier in start order (SPEC 5): every spell after the
-- first is a move. placement_days = (end_date, or as_of_date while ongoing) - start_date, in days.
with placements as (
    select
        p.placement_key,
        p.dossier_key,
        p.start_date,
        p.end_date,
        p.placement_type,
        latest.as_of_date
    from {{ in_latest_extract(ref('stg_dossiers__placements'), 'p') }}
)

select
    placement_key,
    dossier_key,
    start_date,
    end_date,
    placement_type,
    as_of_date,
    -- bigint on every engine: row_number() and datediff give an int on Spark, a bigint on DuckDB (SPEC 7)
    cast(row_number() over (
        partition by dossier_key order by start_date, placement_key
    ) as {{ dbt.type_bigint() }}) as placement_seq,
    end_date is null as is_ongoing,
    cast({{ dbt.datediff('start_date', 'coalesce(end_date, as_of_date)', 'day') }} as {{ dbt.type_bigint() }}) as placement_days
from placements

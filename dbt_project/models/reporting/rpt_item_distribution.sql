-- reporting.item_distribution: marts.item_distribution under disclosure control (SPEC 6;
-- rule in macros/reporting/suppression.sql). The margin is the item's categories: per instrument x wave x
-- item the cells are every category's n plus the total n_valid (= sum of n), so a lone withheld category
-- takes another category with it (fixed pseudo-random order, never by value). pct is nulled when n or n_valid is withheld.
-- Missing-reason rows (is_missing, e.g. 'weet niet') are not part of that margin (n_valid is the sum of
-- the valid categories only): they get primary suppression (0 < n < min_cell withheld), never a
-- secondary one, and their pct stays null.
with mart as (
    select * from {{ ref('item_distribution') }}
    where not is_missing
),

missing as (
    select * from {{ ref('item_distribution') }}
    where is_missing
),

totals as (
    select instrument, wave, item, max(n_valid) as n_valid
    from mart
    group by instrument, wave, item
),

cells as (
    select
        instrument,
        wave,
        item,
        cast(value as {{ dbt.type_string() }}) as category,
        n as cell_value
    from mart
    union all
    select
        instrument,
        wave,
        item,
        'all' as category,
        n_valid as cell_value
    from totals
),

{{ reporting_suppress('cells', keys=['instrument', 'wave', 'item'], dims=['category']) }},

item_totals as (
    select instrument, wave, item, is_hidden as n_valid_hidden, is_suppressed as n_valid_flag
    from cells_suppressed
    where category = 'all'
)

select
    m.instrument,
    m.wave,
    m.item,
    m.item_text,
    m.construct,
    m.role,
    m.value,
    m.value_label,
    case when c.is_hidden = 0 then m.n end as n,
    case when t.n_valid_hidden = 0 then m.n_valid end as n_valid,
    case when c.is_hidden = 0 and t.n_valid_hidden = 0 then {{ reporting_round("m.pct") }} end as pct,
    c.is_suppressed = 1 as n_suppressed,
    t.n_valid_flag = 1 as n_valid_suppressed,
    c.is_suppressed + t.n_valid_flag > 0 as suppressed,
    m.is_missing
from mart as m
inner join cells_suppressed as c
    on c.instrument = m.instrument and c.wave = m.wave and c.item = m.item
    and c.category = cast(m.value as {{ dbt.type_string() }})
inner join item_totals as t
    on t.instrument = m.instrument and t.wave = m.wave and t.item = m.item

union all

select
    m.instrument,
    m.wave,
    m.item,
    m.item_text,
    m.construct,
    m.role,
    m.value,
    m.value_label,
    case when not {{ reporting_is_small('m.n') }} then m.n end as n,
    case when coalesce(t.n_valid_hidden, 0) = 0 then m.n_valid end as n_valid,
    cast(null as {{ type_double() }}) as pct,
    {{ reporting_is_small('m.n') }} as n_suppressed,
    coalesce(t.n_valid_flag, 0) = 1 as n_valid_suppressed,
    {{ reporting_is_small('m.n') }} or coalesce(t.n_valid_flag, 0) = 1 as suppressed,
    m.is_missing
from missing as m
left join item_totals as t
    on t.instrument = m.instrument and t.wave = m.wave and t.item = m.item

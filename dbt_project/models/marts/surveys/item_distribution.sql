-- marts.item_distribution: instrument x wave x item x value with n, n_valid and pct (SPEC 4, 5).
-- Every non-text item asked in the wave, attribute items included. Every category of the answer scheme
-- has a row, also when nobody chose it (n = 0). n_valid counts valid values only (missing reasons and
-- skipped items are out); pct = 100 * n / n_valid, unrounded, null when n_valid = 0.
-- Missing reasons (declared missing codes of the scheme, SPSS user-missing codes) get one row each with
-- is_missing = true: value null, value_label = the reason, n = responses that gave it, n_valid as for
-- the item, pct null. A reason nobody gave has no row (the warehouse knows only the reasons given).
-- An item the wave did not ask (its column was not in that wave's export, or the instrument gives it no
-- source column for the wave) has no answer rows at all and therefore no rows here; an item that was
-- asked but that nobody answered keeps its categories with n = 0.
with asked as (
    select distinct instrument, wave, item
    from {{ ref('int_survey_answers_scored') }}
),

items as (
    select i.instrument, i.wave, i.item, i.item_text, i.construct, i.role, i.scheme, i.scheme_min, i.scheme_max
    from {{ ref('stg_surveys__items') }} as i
    inner join asked as a
        on a.instrument = i.instrument and a.wave = i.wave and a.item = i.item
    where not i.is_text
),

labels as (
    select instrument, wave, item, value from {{ ref('stg_surveys__value_labels') }}
),

digits as (
    {%- for d in range(10) %}
    {% if not loop.first %}union all {% endif %}select {{ d }} as d
    {%- endfor %}
),

whole_numbers as (
    select a.d * 100 + b.d * 10 + c.d as n from digits as a cross join digits as b cross join digits as c
),

observed as (
    select instrument, wave, item, value, count(*) as n
    from {{ ref('int_survey_answers_scored') }}
    where value is not null
    group by instrument, wave, item, value
),

domain as (
    select instrument, wave, item, value from labels
    union
    select i.instrument, i.wave, i.item, cast(w.n as {{ type_double() }}) as value
    from items as i
    inner join whole_numbers as w on w.n between i.scheme_min and i.scheme_max
    where not exists (
        select 1 from labels as l where l.instrument = i.instrument and l.wave = i.wave and l.item = i.item
    )
    union
    select instrument, wave, item, value from observed
),

totals as (
    select instrument, wave, item, cast(sum(n) as {{ dbt.type_bigint() }}) as n_valid from observed group by instrument, wave, item
),

missing as (
    select instrument, wave, item, missing_reason, count(*) as n
    from {{ ref('int_survey_answers_scored') }}
    where value is null and missing_reason is not null
    group by instrument, wave, item, missing_reason
)

select
    i.instrument,
    i.wave,
    i.item,
    i.item_text,
    i.construct,
    i.role,
    d.value,
    l.value_label,
    coalesce(o.n, 0) as n,
    coalesce(t.n_valid, 0) as n_valid,
    -- a double division on every engine (100.0 * n would be a decimal on Spark, rounded to 6 decimals)
    case when coalesce(t.n_valid, 0) > 0
         then 100 * cast(coalesce(o.n, 0) as {{ type_double() }}) / t.n_valid end as pct,
    false as is_missing
from items as i
inner join domain as d on d.instrument = i.instrument and d.wave = i.wave and d.item = i.item
left join {{ ref('stg_surveys__value_labels') }} as l
    on l.instrument = d.instrument and l.wave = d.wave and l.item = d.item and l.value = d.value
left join observed as o on o.instrument = d.instrument and o.wave = d.wave and o.item = d.item and o.value = d.value
left join totals as t on t.instrument = i.instrument and t.wave = i.wave and t.item = i.item

union all

select
    i.instrument,
    i.wave,
    i.item,
    i.item_text,
    i.construct,
    i.role,
    cast(null as {{ type_double() }}) as value,
    m.missing_reason as value_label,
    m.n,
    coalesce(t.n_valid, 0) as n_valid,
    cast(null as {{ type_double() }}) as pct,
    true as is_missing
from items as i
inner join missing as m on m.instrument = i.instrument and m.wave = i.wave and m.item = i.item
left join totals as t on t.instrument = i.instrument and t.wave = i.wave and t.item = i.item

-- marts.scale_reliability: Cronbach's alpha per instrument x wave x construct (SPEC 5):
-- complete cases only (listwise: every item of the construct valid), sample variances,
-- alpha = k / (k - 1) * (1 - sum(var_item) / var(total)); null with fewer than 2 items or 3 cases.
-- One wave's alpha uses that wave's scheme versions only; scheme_version / comparable_with_previous_wave /
-- not_comparable_reason say whether it may be set beside the previous wave's (SPEC 3.3).
with answers as (
    select instrument, wave, construct, response_key, item, value_scored
    from {{ ref('int_survey_answers_scored') }}
    where construct is not null and role = 'item'
),

n_items as (
    select instrument, wave, construct, count(distinct item) as n_items
    from answers group by instrument, wave, construct
),

complete_cases as (
    select a.instrument, a.wave, a.construct, a.response_key, sum(a.value_scored) as total
    from answers as a
    inner join n_items as k on k.instrument = a.instrument and k.wave = a.wave and k.construct = a.construct
    group by a.instrument, a.wave, a.construct, a.response_key, k.n_items
    having count(a.value_scored) = k.n_items
),

item_variances as (
    select a.instrument, a.wave, a.construct, a.item, var_samp(a.value_scored) as var_item
    from answers as a
    inner join complete_cases as c
        on c.instrument = a.instrument and c.wave = a.wave and c.construct = a.construct
        and c.response_key = a.response_key
    group by a.instrument, a.wave, a.construct, a.item
),

summed as (
    select instrument, wave, construct, sum(var_item) as sum_var_items
    from item_variances group by instrument, wave, construct
),

totals as (
    select instrument, wave, construct, count(*) as n_cases, var_samp(total) as var_total
    from complete_cases group by instrument, wave, construct
)

select
    k.instrument,
    k.wave,
    k.construct,
    coalesce(t.n_cases, 0) as n_cases,
    k.n_items,
    case
        when k.n_items >= 2 and coalesce(t.n_cases, 0) >= 3 and t.var_total > 0
            -- k / (k - 1) as a double on every engine (k * 1.0 would be a decimal on Spark, rounded)
            then (cast(k.n_items as {{ type_double() }}) / (k.n_items - 1)) * (1 - s.sum_var_items / t.var_total)
    end as cronbach_alpha,
    v.scheme_version,
    v.comparable_with_previous_wave,
    v.not_comparable_reason
from n_items as k
left join {{ ref('int_survey_construct_comparability') }} as v
    on v.instrument = k.instrument and v.wave = k.wave and v.construct = k.construct
left join totals as t on t.instrument = k.instrument and t.wave = k.wave and t.construct = k.construct
left join summed as s on s.instrument = k.instrument and s.wave = k.wave and s.construct = k.construct

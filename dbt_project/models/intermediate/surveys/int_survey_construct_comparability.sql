-- Construct (scale) versions across waves (SPEC 3.3, 5): per instrument x construct x wave,
-- whether every item of the construct decodes as in its previous wave. A construct whose item changed its
-- coding (codes -> values, values or missing codes; not labels) is not comparable with the previous wave:
-- scores and alphas of different scheme_versions are never pooled or differenced (not_comparable_reason
-- says which item and schemes). Within one wave every item has exactly one version, so per-wave scores and
-- alphas are computed as usual.
with items as (
    select *
    from {{ ref('int_survey_item_comparability') }}
    where construct is not null
),

per_wave as (
    select
        instrument,
        construct,
        wave,
        wave_order,
        {{ dbt.bool_or('coalesce(comparable_with_previous_wave = false, false)') }} as has_scheme_change,
        {{ ordered_string_agg('not_comparable_reason', 'item', "'; '") }} as item_reasons
    from items
    group by instrument, construct, wave, wave_order
),

ordered as (
    select
        per_wave.*,
        lag(wave) over (partition by instrument, construct order by wave_order) as previous_wave
    from per_wave
)

select
    instrument,
    construct,
    wave,
    wave_order,
    previous_wave,
    case when previous_wave is null then null else not has_scheme_change end as comparable_with_previous_wave,
    1 + sum(case when has_scheme_change then 1 else 0 end)
        over (partition by instrument, construct order by wave_order rows between unbounded preceding and current row)
        as scheme_version,
    case when has_scheme_change then
        'answer scheme of construct ' || construct || ' changed between waves ' || previous_wave || ' and ' || wave
        || ': ' || item_reasons
    end as not_comparable_reason
from ordered

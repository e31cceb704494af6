-- marts.scale_change: respondent x construct x consecutive wave pair (SPEC 4; issue 5).
-- Consecutive = wave_order k and k + 1 of the instrument. A row for every respondent who answered both
-- waves; change = score_to - score_from. When any item of the construct changed its answer scheme
-- between the two waves the pair is not comparable: is_comparable = false and change is null (never
-- pooled across a scheme change).
with scores as (
    select instrument, wave, wave_order, respondent_key, construct, score
    from {{ ref('fct_scale_score') }}
    where respondent_key is not null
),

scheme_changes as (
    select instrument, construct, wave_order
    from {{ ref('int_survey_item_comparability') }}
    where comparable_with_previous_wave = false and construct is not null
    group by instrument, construct, wave_order
)

select
    f.instrument,
    f.respondent_key,
    f.construct,
    f.wave as from_wave,
    t.wave as to_wave,
    f.wave_order as from_wave_order,
    t.wave_order as to_wave_order,
    f.score as score_from,
    t.score as score_to,
    x.wave_order is null as is_comparable,
    case when x.wave_order is null then t.score - f.score end as change
from scores as f
inner join scores as t
    on t.instrument = f.instrument and t.respondent_key = f.respondent_key and t.construct = f.construct
    and t.wave_order = f.wave_order + 1
left join scheme_changes as x
    on x.instrument = f.instrument and x.construct = f.construct and x.wave_order = t.wave_order

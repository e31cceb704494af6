-- marts.scale_change: respondent x construct x consecutive wave pair (SPEC 4).
-- Consecutive = wave_order k and k + 1 of the instrument. A row for every respondent who answered both
-- waves; change = score_to - score_from. When any item of the construct decodes differently in the two
-- waves (another coding: codes -> values, values or missing codes; labels do not count) the pair is not
-- comparable: is_comparable = false, change is null and not_comparable_reason names the item and the
-- scheme versions (never differenced across a scheme change, SPEC 3.3).
with scores as (
    select instrument, wave, wave_order, respondent_key, construct, score
    from {{ ref('fct_scale_score') }}
    where respondent_key is not null
),

versions as (
    select instrument, construct, wave, comparable_with_previous_wave, not_comparable_reason
    from {{ ref('int_survey_construct_comparability') }}
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
    coalesce(v.comparable_with_previous_wave, true) as is_comparable,
    case when coalesce(v.comparable_with_previous_wave, true) then t.score - f.score end as change,
    case when not coalesce(v.comparable_with_previous_wave, true) then v.not_comparable_reason end
        as not_comparable_reason
from scores as f
inner join scores as t
    on t.instrument = f.instrument and t.respondent_key = f.respondent_key and t.construct = f.construct
    and t.wave_order = f.wave_order + 1
left join versions as v
    on v.instrument = t.instrument and v.construct = t.construct and v.wave = t.wave

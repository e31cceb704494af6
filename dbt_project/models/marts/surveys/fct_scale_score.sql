-- marts.fct_scale_score: one row per response x construct (SPEC 4, 5).
-- score = mean of the valid value_scored of the construct's items in that wave when the number of
-- valid items >= ceil(min_valid_share * n_items), else null. n_items = the construct's items present
-- in the wave's export. scheme_version: the construct's answer-scheme version (SPEC 3.3): pool or compare
-- scores only within one scheme_version (every item of a wave is decoded with that wave's version).
with per_response as (
    select
        a.instrument,
        a.wave,
        a.wave_order,
        a.response_key,
        a.respondent_key,
        a.dossier_key,
        a.is_complete,
        a.construct,
        count(*) as n_items,
        count(a.value_scored) as n_valid_items,
        avg(a.value_scored) as mean_valid
    from {{ ref('int_survey_answers_scored') }} as a
    where a.construct is not null and a.role = 'item'
    group by a.instrument, a.wave, a.wave_order, a.response_key, a.respondent_key, a.dossier_key,
        a.is_complete, a.construct
)

select
    p.instrument,
    p.wave,
    p.wave_order,
    p.response_key,
    p.respondent_key,
    p.dossier_key,
    p.is_complete,
    p.construct,
    c.construct_label,
    case when p.n_valid_items >= ceil(c.min_valid_share * p.n_items) and p.n_valid_items > 0
        then p.mean_valid end as score,
    p.n_valid_items,
    p.n_items,
    v.scheme_version
from per_response as p
inner join {{ ref('stg_surveys__constructs') }} as c
    on c.instrument = p.instrument and c.wave = p.wave and c.construct = p.construct
left join {{ ref('int_survey_construct_comparability') }} as v
    on v.instrument = p.instrument and v.wave = p.wave and v.construct = p.construct

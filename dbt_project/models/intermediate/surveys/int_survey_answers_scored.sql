-- One row per current response x item with the scored value (SPEC 5: reverse-scored items get
-- value_scored = min + max - value) and the value label of the wave's answer scheme.
select
    a.instrument,
    a.wave,
    r.wave_order,
    a.response_key,
    r.respondent_key,
    r.dossier_key,
    r.is_complete,
    a.item,
    i.construct,
    i.role,
    i.is_reversed,
    i.scheme,
    i.scheme_signature,
    a.raw_code,
    a.value,
    case
        when a.value is null then null
        when i.is_reversed then i.scheme_min + i.scheme_max - a.value
        else a.value
    end as value_scored,
    l.value_label,
    a.missing_reason
from {{ ref('stg_surveys__answers') }} as a
inner join {{ ref('int_survey_responses_current') }} as r
    on r.response_key = a.response_key
inner join {{ ref('stg_surveys__items') }} as i
    on i.instrument = a.instrument and i.wave = a.wave and i.item = a.item
left join {{ ref('stg_surveys__value_labels') }} as l
    on l.instrument = a.instrument and l.wave = a.wave and l.item = a.item and l.value = a.value

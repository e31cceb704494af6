-- marts.fct_item_response: one row per response x item (non-text items), SPEC 4, 5.
-- scheme_version / comparable_with_previous_wave come from the item crosswalk: values of one item are
-- comparable across waves only within the same scheme_version; scheme is the answer-scheme version the wave was
-- loaded (decoded) with (SPEC 3.3).
select
    a.instrument,
    a.wave,
    a.wave_order,
    a.response_key,
    a.respondent_key,
    a.is_complete,
    a.item,
    a.construct,
    a.role,
    a.value,
    a.value_scored,
    a.value_label,
    a.missing_reason,
    a.raw_code,
    c.scheme_version,
    c.comparable_with_previous_wave,
    c.scheme,
    c.not_comparable_reason
from {{ ref('int_survey_answers_scored') }} as a
left join {{ ref('int_survey_item_comparability') }} as c
    on c.instrument = a.instrument and c.item = a.item and c.wave = a.wave

-- marts.fct_item_response: one row per response x item (non-text items), SPEC 4.
select
    instrument,
    wave,
    wave_order,
    response_key,
    respondent_key,
    is_complete,
    item,
    construct,
    role,
    value,
    value_scored,
    value_label,
    missing_reason,
    raw_code
from {{ ref('int_survey_answers_scored') }}

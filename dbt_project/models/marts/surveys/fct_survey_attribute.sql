-- marts.fct_survey_attribute: one row per current response x attribute item (SPEC 4): the respondent
-- characteristics (role: attribute: function, region, respondent_role, sector ...) in a long table with a
-- fixed column set, whatever the instruments declare (marts.fct_survey_response has no attribute columns; the
-- wide file is `sofs-warehouse export survey`). Answers given with a declared missing code have value null and
-- a missing_reason.
select
    a.instrument,
    a.wave,
    a.wave_order,
    a.response_key,
    a.respondent_key,
    a.item,
    a.value,
    a.value_label,
    a.missing_reason,
    a.raw_code
from {{ ref('int_survey_answers_scored') }} as a
where a.role = 'attribute'

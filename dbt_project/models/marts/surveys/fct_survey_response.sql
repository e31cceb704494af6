-- marts.fct_survey_response: one row per instrument x wave x response that stands (SPEC 4). A fixed column set,
-- whatever the instruments declare: the respondent's attributes (function, region, respondent role ...) are rows
-- of marts.fct_survey_attribute, and the wide respondent x item file for SPSS, Stata and R is
-- `sofs-warehouse export survey` (SPEC 8).
select
    r.instrument,
    r.wave,
    r.response_key,
    r.respondent_key,
    r.dossier_key,
    r.is_complete,
    r.lastpage,
    r.submitted_at,
    r.wave_order,
    r.population
from {{ ref('int_survey_responses_current') }} as r

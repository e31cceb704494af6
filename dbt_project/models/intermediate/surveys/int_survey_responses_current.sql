-- Responses that stand: where one respondent answered a wave twice, the ingest flagged all but the
-- latest complete response as superseded (SPEC 5; the decision is in audit.load_notes).
select
    r.instrument,
    r.wave,
    w.wave_order,
    w.population,
    r.response_key,
    r.respondent_key,
    r.dossier_key,
    r.is_complete,
    r.lastpage,
    r.submitted_at,
    r.started_at,
    r.startlanguage,
    w.fieldwork_start,
    w.fieldwork_end
from {{ ref('stg_surveys__responses') }} as r
inner join {{ ref('int_survey_waves_ordered') }} as w
    on w.instrument = r.instrument and w.wave = r.wave
where not r.is_superseded

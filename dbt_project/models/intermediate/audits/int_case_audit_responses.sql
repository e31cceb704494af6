-- Case-audit responses that stand (SPEC 4, 5): every response of an instrument whose population is
-- 'auditor' (raw.survey_waves), one per auditor x audited dossier x wave. An auditor scores several
-- dossiers in one wave under one token, so the rule "where one respondent answered a wave twice, the
-- latest complete response stands" (SPEC 5) holds per respondent AND dossier: of the responses of one
-- auditor on one dossier in one wave the latest complete one stands (latest submitted_at, then the
-- highest source line), else the latest incomplete one. The ingest flags the others is_superseded by the
-- same rule; it is applied here again from the responses themselves, so that waves loaded before the
-- ingest grouped by dossier (when it superseded all but one audit per auditor) count every audit too.
-- A response without a respondent key (anonymous audit) always stands.
-- period_date: the audit date (the submit date), else the wave's fieldwork_start, else the start date.
-- auditor_role / auditor_role_code: value label and value of the attribute item named by the dbt var
-- audit_role_item (default auditor_role); null when the response does not answer it.
with waves as (
    select instrument, wave, fieldwork_start, fieldwork_end
    from {{ ref('stg_surveys__waves') }}
    where population = '{{ var("audit_population") }}'
),

ranked as (
    select
        r.instrument,
        r.wave,
        r.response_key,
        r.respondent_key,
        r.dossier_key,
        r.is_complete,
        r.lastpage,
        r.submitted_at,
        r.started_at,
        r.source_line,
        w.fieldwork_start,
        w.fieldwork_end,
        row_number() over (
            partition by r.instrument, r.wave, coalesce(r.respondent_key, r.response_key), coalesce(r.dossier_key, '-')
            order by
                case when r.is_complete then 0 else 1 end,
                case when r.submitted_at is null then 1 else 0 end,
                r.submitted_at desc,
                r.source_line desc
        ) as response_rank
    from {{ ref('stg_surveys__responses') }} as r
    inner join waves as w
        on w.instrument = r.instrument and w.wave = r.wave
),

roles as (
    select
        a.response_key,
        max(a.value) as auditor_role_code,
        max(l.value_label) as auditor_role
    from {{ ref('stg_surveys__answers') }} as a
    inner join {{ ref('stg_surveys__items') }} as i
        on i.instrument = a.instrument and i.wave = a.wave and i.item = a.item
    inner join waves as w
        on w.instrument = a.instrument and w.wave = a.wave
    left join {{ ref('stg_surveys__value_labels') }} as l
        on l.instrument = a.instrument and l.wave = a.wave and l.item = a.item and l.value = a.value
    where a.item = '{{ var("audit_role_item") }}' and i.role = 'attribute'
    group by a.response_key
)

select
    k.instrument,
    k.wave,
    k.response_key,
    k.respondent_key,
    k.dossier_key,
    k.is_complete,
    k.lastpage,
    k.submitted_at,
    k.started_at,
    k.source_line,
    k.fieldwork_start,
    k.fieldwork_end,
    cast(k.submitted_at as date) as audit_date,
    coalesce(cast(k.submitted_at as date), k.fieldwork_start, cast(k.started_at as date)) as period_date,
    ro.auditor_role,
    ro.auditor_role_code
from ranked as k
left join roles as ro
    on ro.response_key = k.response_key
where k.response_rank = 1

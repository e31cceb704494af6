-- One row per standing case-audit response x rubric item (SPEC 5): the items of the depth construct
-- (dbt var audit_depth_construct, default depth_of_practice) with role 'item' in the wave's instrument
-- definition (raw.survey_items). value_scored as SPEC 5 (reverse-scored: min + max - value); a declared
-- missing code (9 = niet te beoordelen) is a missing_reason, never a value. min_valid_share: the
-- construct's, for the depth score rule (SPEC 5).
select
    r.instrument,
    r.wave,
    r.response_key,
    r.respondent_key,
    r.dossier_key,
    a.item,
    i.construct,
    a.value,
    case
        when a.value is null then null
        when i.is_reversed then i.scheme_min + i.scheme_max - a.value
        else a.value
    end as value_scored,
    a.missing_reason,
    c.min_valid_share
from {{ ref('int_case_audit_responses') }} as r
inner join {{ ref('stg_surveys__answers') }} as a
    on a.response_key = r.response_key
inner join {{ ref('stg_surveys__items') }} as i
    on i.instrument = a.instrument and i.wave = a.wave and i.item = a.item
inner join {{ ref('stg_surveys__constructs') }} as c
    on c.instrument = i.instrument and c.wave = i.wave and c.construct = i.construct
where i.role = 'item' and i.construct = '{{ var("audit_depth_construct") }}'

-- Per current response (SPEC 5: superseded duplicates left out): who answered and where, as the instrument
-- definition declares it (SPEC 3.3, recorded per wave in raw.survey_waves at load time):
--   respondent_group: the value label of the attribute item `respondent_group` names (e.g. ouder, netwerklid;
--     the value itself when it has no label; 'unknown' when not answered), else the instrument's population;
--   respondent_group_value: that attribute's value (null without such an item);
--   region: the value label of the attribute item `region: {item: ...}` names, or with `region: dossier` the
--     region of the linked dossier in the latest extract (marts.fct_dossier); 'unknown' when there is none
--     (not answered, dossier not in the latest extract, no extract loaded, or no region declared), so that
--     region rows add up to 'all' in marts.construct_means.
-- No item, construct or group name is written here: everything comes from the loaded definitions.
{%- set s = dbt.type_string() %}

with responses as (
    select
        r.instrument,
        r.wave,
        r.wave_order,
        r.population,
        r.response_key,
        r.respondent_key,
        r.dossier_key,
        r.is_complete,
        w.respondent_group_item,
        w.respondent_group_label,
        w.region_item,
        w.region_from_dossier
    from {{ survey_ref('int_survey_responses_current') }} as r
    inner join {{ survey_ref('stg_surveys__waves') }} as w
        on w.instrument = r.instrument and w.wave = r.wave
),

attributes as (
    select response_key, item, value, value_label
    from {{ survey_ref('int_survey_answers_scored') }}
    where role = 'attribute'
),

dossiers as (
    select dossier_key, region
    from {{ ref_or_empty('fct_dossier', [['dossier_key', s], ['region', s]]) }} as d
)

select
    r.instrument,
    r.wave,
    r.wave_order,
    r.population,
    r.response_key,
    r.respondent_key,
    r.dossier_key,
    r.is_complete,
    case
        when r.respondent_group_item is null then r.population
        else coalesce(g.value_label, cast(g.value as {{ s }}), 'unknown')
    end as respondent_group,
    g.value as respondent_group_value,
    case
        when r.respondent_group_item is null then coalesce(r.respondent_group_label, r.population)
        else g.value_label
    end as respondent_group_label,
    case
        when r.region_item is not null then coalesce(rg.value_label, cast(rg.value as {{ s }}), 'unknown')
        when r.region_from_dossier then coalesce(d.region, 'unknown')
        else 'unknown'
    end as region
from responses as r
left join attributes as g
    on g.response_key = r.response_key and g.item = r.respondent_group_item
left join attributes as rg
    on rg.response_key = r.response_key and rg.item = r.region_item
left join dossiers as d
    on r.region_from_dossier and d.dossier_key = r.dossier_key

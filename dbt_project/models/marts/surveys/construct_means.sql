-- marts.construct_means (SPEC 4, 5): instrument x wave x measure x region x respondent group, with 'all'
-- rows over regions and over groups; one fixed column set for every instrument.
--
-- Measures (measure_kind / measure):
--   construct / <construct>: the scale scores of marts.fct_scale_score (SPEC 5 rule) that are not null;
--   scaling / <item>: the valid values of an item of kind scaling (scheme or item `kind: scaling`, SPEC 3.3);
--   responses / responses: the current responses themselves (n_respondents only, no mean).
-- Region and respondent group come from int_survey_response_groups (declared in the instrument definition);
-- every response has exactly one region ('unknown' when none) and one group, so the region rows add up to
-- region = 'all' and the group rows to respondent_group = 'all' (the margins of reporting.construct_means).
-- n_respondents = current responses with a value (a respondent answers a wave once: SPEC 5);
-- mean, sd (sample) over them; 95 % CI = mean +- t(0.975, n - 1) * sd / sqrt(n), null when n < 2.
-- scale_min / scale_max: the range of the construct's (or item's) answer scheme in that wave; scheme_version:
-- as in marts.fct_scale_score / scale_reliability (construct) and marts.fct_item_response (scaling item).
-- No construct, item, group or region name is written here: all of it is read from the loaded definitions.
{%- set s = dbt.type_string() -%}
{%- set f = type_double() %}

with responses as (
    select * from {{ ref('int_survey_response_groups') }}
),

items as (
    select * from {{ survey_ref('stg_surveys__items') }}
),

measure_values as (
    select sc.response_key, 'construct' as measure_kind, sc.construct as measure, sc.score as value
    from {{ survey_ref('fct_scale_score') }} as sc
    where sc.score is not null

    union all

    select a.response_key, 'scaling' as measure_kind, a.item as measure, a.value
    from {{ survey_ref('int_survey_answers_scored') }} as a
    inner join items as i
        on i.instrument = a.instrument and i.wave = a.wave and i.item = a.item
    where i.item_kind = 'scaling' and a.role = 'item' and a.value is not null

    union all

    select response_key, 'responses' as measure_kind, 'responses' as measure, cast(null as {{ f }}) as value
    from responses
),

levels as (
    select true as by_region, true as by_group
    union all select true as by_region, false as by_group
    union all select false as by_region, true as by_group
    union all select false as by_region, false as by_group
),

grouped as (
    select
        r.instrument,
        r.wave,
        v.measure_kind,
        v.measure,
        case when l.by_region then r.region else 'all' end as region,
        case when l.by_group then r.respondent_group else 'all' end as respondent_group,
        count(*) as n_respondents,
        avg(v.value) as mean,
        stddev_samp(v.value) as sd
    from measure_values as v
    inner join responses as r on r.response_key = v.response_key
    cross join levels as l
    group by
        r.instrument, r.wave, v.measure_kind, v.measure,
        case when l.by_region then r.region else 'all' end,
        case when l.by_group then r.respondent_group else 'all' end
),

-- what each measure is, per instrument x wave
construct_info as (
    select
        c.instrument,
        c.wave,
        'construct' as measure_kind,
        c.construct as measure,
        c.construct_label as measure_label,
        sc.scale_min,
        sc.scale_max,
        cast(null as {{ s }}) as scale_anchors,
        cast(v.scheme_version as {{ dbt.type_bigint() }}) as scheme_version
    from {{ survey_ref('stg_surveys__constructs') }} as c
    left join (
        select instrument, wave, construct, min(scheme_min) as scale_min, max(scheme_max) as scale_max
        from items
        where construct is not null and role = 'item' and not is_text
        group by instrument, wave, construct
    ) as sc
        on sc.instrument = c.instrument and sc.wave = c.wave and sc.construct = c.construct
    left join {{ survey_ref('int_survey_construct_comparability') }} as v
        on v.instrument = c.instrument and v.wave = c.wave and v.construct = c.construct
),

scaling_info as (
    select
        i.instrument,
        i.wave,
        'scaling' as measure_kind,
        i.item as measure,
        i.item_text as measure_label,
        i.scheme_min as scale_min,
        i.scheme_max as scale_max,
        i.scheme_anchors as scale_anchors,
        cast(v.scheme_version as {{ dbt.type_bigint() }}) as scheme_version
    from items as i
    left join {{ survey_ref('int_survey_item_comparability') }} as v
        on v.instrument = i.instrument and v.wave = i.wave and v.item = i.item
    where i.item_kind = 'scaling' and i.role = 'item'
),

measure_info as (
    select * from construct_info
    union all
    select * from scaling_info
),

waves as (
    select instrument, wave, population, wave_order, wave_year
    from {{ survey_ref('int_survey_wave_years') }}
)

select
    g.instrument,
    w.population,
    g.wave,
    w.wave_order,
    w.wave_year,
    g.measure_kind,
    g.measure,
    case when g.measure_kind = 'responses' then 'current responses of the wave' else m.measure_label end
        as measure_label,
    g.region,
    g.respondent_group,
    cast(g.n_respondents as {{ dbt.type_bigint() }}) as n_respondents,
    cast(g.mean as {{ f }}) as mean,
    cast(g.sd as {{ f }}) as sd,
    cast(case when g.n_respondents >= 2
        then g.mean - {{ t_quantile_975('g.n_respondents - 1') }} * g.sd / sqrt(cast(g.n_respondents as {{ f }}))
    end as {{ f }}) as ci_lower,
    cast(case when g.n_respondents >= 2
        then g.mean + {{ t_quantile_975('g.n_respondents - 1') }} * g.sd / sqrt(cast(g.n_respondents as {{ f }}))
    end as {{ f }}) as ci_upper,
    cast(m.scale_min as {{ f }}) as scale_min,
    cast(m.scale_max as {{ f }}) as scale_max,
    m.scale_anchors,
    m.scheme_version
from grouped as g
inner join waves as w
    on w.instrument = g.instrument and w.wave = g.wave
left join measure_info as m
    on m.instrument = g.instrument and m.wave = g.wave and m.measure_kind = g.measure_kind and m.measure = g.measure

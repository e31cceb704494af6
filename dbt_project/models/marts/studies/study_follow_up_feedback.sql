-- marts.study_follow_up_feedback: one row per study x dossier x follow-up month x instrument x construct with at
-- least one score (SPEC 9.1, long form so that any instrument's constructs appear without a code change):
-- n = complete responses in the feedback window (int_study_feedback_responses) with a score on the construct,
-- mean = their mean score (the construct's scale, marts.fct_scale_score). population: client or child.
{%- set s = dbt.type_string() %}
with responses as (
    select * from {{ ref('int_study_feedback_responses') }}
),

scores as (
    select response_key, construct, score
    from {{ ref_or_empty('fct_scale_score', [
        ['response_key', s], ['construct', s], ['score', type_double()]]) }} as c
    where score is not null
)

select
    r.study,
    r.dossier_key,
    r.follow_up_month,
    r.instrument,
    r.population,
    sc.construct,
    cast(count(*) as {{ dbt.type_bigint() }}) as n,
    cast(avg(sc.score) as {{ type_double() }}) as mean
from responses as r
inner join scores as sc
    on sc.response_key = r.response_key
group by r.study, r.dossier_key, r.follow_up_month, r.instrument, r.population, sc.construct

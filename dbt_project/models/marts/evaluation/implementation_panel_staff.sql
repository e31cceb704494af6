-- marts.implementation_panel_staff: staff survey construct means per region x year (SPEC 9.3), the companion of
-- marts.implementation_panel (join on region and year = wave_year): from marts.construct_means, population staff,
-- measure_kind construct, respondent_group 'all', one row per region x wave x construct (long, so any staff
-- instrument's constructs appear without a code change): n_respondents, mean.
{%- set s = dbt.type_string() %}
select
    region,
    cast(wave_year as {{ dbt.type_int() }}) as year,
    instrument,
    wave,
    measure as construct,
    n_respondents,
    mean
from {{ ref_or_empty('construct_means', [
    ['instrument', s], ['population', s], ['wave', s], ['wave_year', dbt.type_int()], ['measure_kind', s],
    ['measure', s], ['region', s], ['respondent_group', s], ['n_respondents', dbt.type_bigint()],
    ['mean', type_double()]]) }} as c
where population = 'staff' and measure_kind = 'construct' and respondent_group = 'all'

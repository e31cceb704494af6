{%- set rule_text -%}
counts c with {{ '0 <=' if var('suppress_zero_counts', false) else '0 <' }} c < {{ reporting_min_cell() }} are withheld (null, <count>_suppressed = true); in every margin group (year, service, region, status or category, with its all total) that would have exactly one withheld cell, another cell of the group is withheld too, chosen in a fixed pseudo-random order (never by its value; it may be a zero); then, over all reporting tables together (margins, identities between columns and tables, rates), more cells are withheld until a linear-programming audit finds no withheld count below the minimum narrower than [0, min_cell]; zero counts are shown unless withheld to protect another cell; rates, percentages, medians and Kaplan-Meier figures computed from a withheld count are null; floats are rounded to 9 decimals
{%- endset %}
-- reporting.suppression_rule: one row with the disclosure-control settings the reporting tables were
-- built with (SPEC 6), so that an export or a release states its own rule.
select
    cast({{ reporting_min_cell() }} as {{ dbt.type_int() }}) as min_cell,
    {{ 'true' if var('suppress_zero_counts', false) else 'false' }} as suppress_zero_counts,
    cast({{ var('suppression_passes', 5) | int }} as {{ dbt.type_int() }}) as suppression_passes,
    cast('{{ rule_text }}' as {{ dbt.type_string() }}) as rule_text

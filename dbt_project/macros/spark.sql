{#-
  Running the models on Spark through dbt-spark (SPEC 7): the `spark` target of profiles.yml.

  * Schemas: every schema of SPEC 4 becomes a Spark database named <target.schema>_<schema>
    (e.g. sofs_dev_raw, sofs_dev_marts), so that environments sharing one catalog do not collide.
    target.schema is the prefix: env SOFS_SPARK_SCHEMA_PREFIX in profiles.yml.
  * Sources: the raw tables reach Spark as parquet folders, one per source table, written by
    `sofs-warehouse export-raw --format parquet --out DIR` (orchestration/spark_handover.py). The
    on-run-start hook spark_register_raw_sources() registers each source table of schema `raw` as an
    external parquet table <prefix>_raw.<table> over DIR/<table> (DIR: env SOFS_SPARK_RAW_DIR, a path or
    URI the Spark driver and executors can read). On DuckDB it does nothing.
  * source() is overridden so that on Spark a source of schema `raw` reads <prefix>_raw; elsewhere it is
    dbt's own source().
-#}

{#- The Spark database for a schema of SPEC 4: <target.schema>_<schema>. -#}
{% macro spark_schema_name(schema) -%}
    {{- target.schema ~ '_' ~ schema -}}
{%- endmacro %}

{#- dbt's source(), with the Spark database prefix on the spark target (see above). -#}
{% macro source(source_name, table_name) -%}
    {%- set relation = builtins.source(source_name, table_name) -%}
    {%- if target.type == 'spark' and relation.schema is not none -%}
        {%- do return(relation.incorporate(path={'schema': spark_schema_name(relation.schema)})) -%}
    {%- endif -%}
    {%- do return(relation) -%}
{%- endmacro %}

{#-
  on-run-start: on Spark, (re)register every source table of schema `raw` over its parquet folder
  SOFS_SPARK_RAW_DIR/<table> (drop table + create table ... using parquet location: dropping an external
  table never deletes its files). Renders to nothing, so the hook runs no SQL of its own; on other
  engines it does nothing at all. Fails with a message naming the table when a folder is missing.
  The folders are not partitioned (one file per table), so no MSCK REPAIR / REFRESH is needed.
-#}
{% macro spark_register_raw_sources() -%}
    {%- if execute and target.type == 'spark' -%}
        {%- set raw_dir = env_var('SOFS_SPARK_RAW_DIR', '') | trim -%}
        {%- if not raw_dir -%}
            {%- do exceptions.raise_compiler_error(
                "SOFS_SPARK_RAW_DIR is not set: on the spark target the raw tables are read from parquet "
                ~ "folders written by `sofs-warehouse export-raw --format parquet --out DIR`; set "
                ~ "SOFS_SPARK_RAW_DIR to that DIR (a path or URI that Spark can read)") -%}
        {%- endif -%}
        {%- set raw_dir = raw_dir.rstrip('/') -%}
        {%- set database = spark_schema_name('raw') -%}
        {%- do run_query('create database if not exists ' ~ database) -%}
        {%- for node in graph.sources.values() | sort(attribute='unique_id') -%}
            {%- if node.schema == 'raw' -%}
                {%- set table = database ~ '.' ~ node.identifier -%}
                {%- do run_query('drop table if exists ' ~ table) -%}
                {%- do run_query("create table " ~ table ~ " using parquet location '"
                                 ~ raw_dir ~ "/" ~ node.identifier ~ "'") -%}
                {%- do log('registered ' ~ table ~ ' over ' ~ raw_dir ~ '/' ~ node.identifier, info=false) -%}
            {%- endif -%}
        {%- endfor -%}
    {%- endif -%}
{%- endmacro %}

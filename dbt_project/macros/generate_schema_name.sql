{#-
  Use a folder's +schema verbatim (staging, intermediate, marts) instead of
  dbt's default "<target schema>_<custom schema>": one warehouse file per
  environment, so the prefix would only make names longer for the Python
  readers (publisher, GX suite).
-#}
{% macro generate_schema_name(custom_schema_name, node) -%}
    {{ (custom_schema_name or target.schema) | trim }}
{%- endmacro %}

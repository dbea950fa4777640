{#-
    md5 hex of the given expressions, each cast to text, nulls replaced by a marker and
    joined with a separator, so ('a', null) and (null, 'a') hash differently.
    Pass time zone-independent expressions (see utc_iso8601) for timestamptz values.
-#}
{% macro generate_surrogate_key(expressions) -%}
    md5(
        {%- for expression in expressions %}
        coalesce(cast({{ expression }} as text), '_null_')
        {%- if not loop.last %} || '|' ||{% endif %}
        {%- endfor %}
    )
{%- endmacro %}

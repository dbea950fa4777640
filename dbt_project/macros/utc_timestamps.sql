{#- Timestamps as UTC: ISO-8601 text to timestamptz and back, independent of the session TimeZone. -#}

{#-
    An ISO-8601 text as timestamptz. Texts with an offset or Z keep it; texts without one are read as
    UTC (not in the session TimeZone), so the result never depends on the session.
-#}
{% macro parse_utc_timestamp(expression) -%}
    {#- offset (Z, +hh, +hhmm, +hh:mm) right after a time of day -#}
    case
        when {{ expression }} ~ '[0-9]{2}:[0-9]{2}(:[0-9]{2}(\.[0-9]+)?)? ?([zZ]|[+-][0-9]{2}(:?[0-9]{2})?)$'
            then ({{ expression }})::timestamptz
        else ({{ expression }})::timestamp at time zone 'UTC'
    end
{%- endmacro %}

{#- A timestamptz as UTC ISO-8601 text, independent of the session TimeZone and DateStyle. -#}
{% macro utc_iso8601(expression) -%}
    to_char({{ expression }} at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"')
{%- endmacro %}

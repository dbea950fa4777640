{#-
    A volume expectation, apart from source freshness (which only asks whether the source was checked): fails
    when the newest value of the column is older than max_age, or the model has no rows at all.
-#}
{% test arrives_within(model, column_name, max_age) %}

    select max({{ column_name }}) as newest
    from {{ model }}
    having max({{ column_name }}) is null or max({{ column_name }}) < now() - interval '{{ max_age }}'

{% endtest %}

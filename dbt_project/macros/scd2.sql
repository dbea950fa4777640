{#- Constants and helpers for the type 2 slowly changing dimensions built from snapshots. -#}

{#- valid_from of the first version of every key, so facts older than the first observation find a version. -#}
{% macro scd2_beginning_of_time() -%}
    '1900-01-01 00:00:00+00'::timestamptz
{%- endmacro %}

{#- valid_to of the open (current) version; also the snapshots' dbt_valid_to_current. -#}
{% macro scd2_end_of_time() -%}
    '9999-12-31 00:00:00+00'::timestamptz
{%- endmacro %}

{#-
    Rows of an SCD2 relation whose validity windows are broken, per natural key: the first version must
    start at scd2_beginning_of_time, each version must end where the next one starts (no gap, no overlap),
    the last must end at scd2_end_of_time, and every window must be non-empty.
-#}
{% macro scd2_window_violations(relation, natural_key) -%}
    with

    versions as (

        select
            {{ natural_key }} as natural_key,
            valid_from,
            valid_to,
            lag(valid_to) over (partition by {{ natural_key }} order by valid_from) as previous_valid_to,
            row_number() over (partition by {{ natural_key }} order by valid_from) as version_no,
            count(*) over (partition by {{ natural_key }}) as version_count
        from {{ relation }}

    )

    select
        natural_key,
        valid_from,
        valid_to,
        previous_valid_to,
        case
            when valid_from >= valid_to then 'empty or inverted window'
            when version_no = 1 and valid_from != {{ scd2_beginning_of_time() }} then 'first version starts late'
            when version_no > 1 and valid_from > previous_valid_to then 'gap before version'
            when version_no > 1 and valid_from < previous_valid_to then 'overlap with previous version'
            when version_no = version_count and valid_to != {{ scd2_end_of_time() }} then 'last version is closed'
        end as violation
    from versions
    where
        valid_from >= valid_to
        or (version_no = 1 and valid_from != {{ scd2_beginning_of_time() }})
        or (version_no > 1 and valid_from != previous_valid_to)
        or (version_no = version_count and valid_to != {{ scd2_end_of_time() }})
{%- endmacro %}

{#- Natural keys of an SCD2 relation that do not have exactly one is_current version. -#}
{% macro scd2_current_version_violations(relation, natural_key) -%}
    select
        {{ natural_key }} as natural_key,
        count(*) filter (where is_current) as current_versions
    from {{ relation }}
    group by {{ natural_key }}
    having count(*) filter (where is_current) != 1
{%- endmacro %}

{#-
    A type 2 dimension from a snapshot: one row per non-empty version of each natural key, numbered, with a
    surrogate key, valid_from (scd2_beginning_of_time for the first version), valid_to and is_current.
    A rerun of an interval whose data changed in between leaves an empty version in the snapshot: dropped.
-#}
{% macro scd2_dimension(snapshot_name, natural_key, surrogate_key, columns) -%}
    with

    versions as (

        select
            {{ natural_key }},
            {%- for column in columns %}
            {{ column }},
            {%- endfor %}
            dbt_valid_from as observed_from,
            coalesce(dbt_valid_to, {{ scd2_end_of_time() }}) as valid_to
        from {{ ref(snapshot_name) }}
        where dbt_valid_from < coalesce(dbt_valid_to, {{ scd2_end_of_time() }})

    ),

    numbered as (

        select
            *,
            row_number() over (partition by {{ natural_key }} order by observed_from) as version_no
        from versions

    ),

    windowed as (

        select
            *,
            case
                when version_no = 1 then {{ scd2_beginning_of_time() }}
                else observed_from
            end as valid_from
        from numbered

    )

    select
        {{ generate_surrogate_key([natural_key, utc_iso8601('valid_from')]) }} as {{ surrogate_key }},
        {{ natural_key }},
        version_no,
        {%- for column in columns %}
        {{ column }},
        {%- endfor %}
        observed_from,
        valid_from,
        valid_to,
        valid_to = {{ scd2_end_of_time() }} as is_current
    from windowed
{%- endmacro %}

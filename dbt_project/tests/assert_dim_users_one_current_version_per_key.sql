-- Exactly one is_current version per user_id.
{{ scd2_current_version_violations(ref('dim_users'), 'user_id') }}

{{ scd2_dimension(
    snapshot_name='snp_fakestore__users',
    natural_key='user_id',
    surrogate_key='user_sk',
    columns=[
        'email', 'username', 'first_name', 'last_name', 'phone',
        'city', 'street', 'street_number', 'zipcode', 'latitude', 'longitude', 'loaded_at',
    ],
) }}

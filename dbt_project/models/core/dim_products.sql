{{ scd2_dimension(
    snapshot_name='snp_fakestore__products',
    natural_key='product_id',
    surrogate_key='product_sk',
    columns=['title', 'description', 'category', 'price', 'image_url', 'rating_rate', 'rating_count', 'loaded_at'],
) }}

"""The column lineage of a model's compiled SQL, as the dbt events report it: each output column with the table
columns it is computed from, through ``select *`` CTEs, joins and expressions (the shape of every model here)."""

from __future__ import annotations

import pytest
from sqlglot.errors import ParseError

from python_scripts.lineage import column_lineage

COLUMNS = {
    "warehouse": {
        "core": {
            "lines": {"cart_id": "bigint", "product_id": "bigint", "quantity": "integer", "loaded_at": "timestamp"},
            "products": {"product_id": "bigint", "price": "numeric", "category": "text", "loaded_at": "timestamp"},
        }
    }
}

MODEL = """
with

lines as (
    select * from "warehouse"."core"."lines"
),

products as (
    select * from "warehouse"."core"."products"
),

final as (
    select
        lines.cart_id,
        coalesce(products.category, 'unknown') as category,
        (lines.quantity * products.price)::numeric(14, 2) as revenue,
        greatest(lines.loaded_at, products.loaded_at) as loaded_at,
        count(*) over () as lines_in_batch
    from lines
    left join products on lines.product_id = products.product_id
)

select * from final
"""


def test_each_output_column_maps_to_the_table_columns_it_is_computed_from():
    assert column_lineage(MODEL, COLUMNS) == {
        "cart_id": [("warehouse.core.lines", "cart_id")],
        "category": [("warehouse.core.products", "category")],
        "revenue": [("warehouse.core.lines", "quantity"), ("warehouse.core.products", "price")],
        "loaded_at": [("warehouse.core.lines", "loaded_at"), ("warehouse.core.products", "loaded_at")],
        "lines_in_batch": [],
    }


def test_a_star_over_a_table_keeps_each_column_by_name():
    lineage = column_lineage('select * from "warehouse"."core"."products"', COLUMNS)
    products = COLUMNS["warehouse"]["core"]["products"]
    assert lineage == {column: [("warehouse.core.products", column)] for column in products}


def test_sql_that_does_not_parse_is_an_error_for_the_caller_to_handle():
    with pytest.raises(ParseError):
        column_lineage("select from where (", COLUMNS)

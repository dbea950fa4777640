"""What the Fake Store marts should hold, computed from the sandbox's responses: shared by the end-to-end tests
that run the Fake Store pipeline (natively and in the Docker stack). ``wh`` is anything with psycopg's
``execute``."""

from __future__ import annotations

from collections import defaultdict
from decimal import Decimal


def sales_overview_from_api(api, window: dict) -> dict[tuple, tuple]:
    """mart_sales_overview computed independently from the sandbox's responses."""
    products = {p["id"]: p for p in api.get("/products")}
    users = {u["id"]: u for u in api.get("/users")}
    groups: dict[tuple, dict] = defaultdict(
        lambda: {"carts": set(), "items": 0, "units": 0, "revenue": Decimal(0), "customers": set()}
    )
    for cart in api.get("/carts", **window):
        city = users[cart["userId"]]["address"]["city"].strip().lower()
        for line in cart["products"]:
            product = products[line["productId"]]
            group = groups[(cart["date"][:10], product["category"].strip().lower(), city)]
            group["carts"].add(cart["id"])
            group["items"] += 1
            group["units"] += line["quantity"]
            group["revenue"] += line["quantity"] * Decimal(str(product["price"]))
            group["customers"].add(cart["userId"])
    return {
        key: (len(g["carts"]), g["items"], g["units"], g["revenue"], len(g["customers"])) for key, g in groups.items()
    }


def sales_overview_from_mart(wh) -> dict[tuple, tuple]:
    rows = wh.execute(
        "SELECT cart_date::text, category, city, carts, items, units, revenue, distinct_customers "
        "FROM marts.mart_sales_overview"
    ).fetchall()
    return {row[:3]: row[3:] for row in rows}

"""A synthetic demo shop with hidden ground truth: customers, catalog, graph and events."""

from tailored.demo.catalog import SEGMENTS
from tailored.demo.shop import (
    DemoShop,
    ShopConfig,
    generate_shop,
    read_shop_records,
    write_shop,
)

__all__ = [
    "SEGMENTS",
    "DemoShop",
    "ShopConfig",
    "generate_shop",
    "read_shop_records",
    "write_shop",
]

"""The settings of a whole sandbox: one config per source, and the instant the sandbox clock starts from."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any

from python_scripts.sandbox.alphavantage import AlphaVantageConfig
from python_scripts.sandbox.clock import as_utc, format_instant
from python_scripts.sandbox.fakestore import FakeStoreConfig
from python_scripts.sandbox.openweather import OpenWeatherConfig
from python_scripts.sandbox.orders import OrdersConfig

SEEDED_SOURCES = ("openweather", "alphavantage", "orders")


@dataclass(frozen=True)
class SandboxConfig:
    """What every source serves. The sandbox seed is ``fakestore.seed``: a source whose own ``seed`` is None
    gets it, and ``orders.customers`` of 0 becomes the Fake Store user count, so the config as built (and as
    ``/__sandbox/health`` shows it) is fully resolved. ``now`` (timezone-aware, kept in UTC) fixes the
    sandbox clock; None follows the wall clock."""

    fakestore: FakeStoreConfig = field(default_factory=FakeStoreConfig)
    openweather: OpenWeatherConfig = field(default_factory=OpenWeatherConfig)
    alphavantage: AlphaVantageConfig = field(default_factory=AlphaVantageConfig)
    orders: OrdersConfig = field(default_factory=OrdersConfig)
    now: datetime | None = None

    def __post_init__(self) -> None:
        for name in SEEDED_SOURCES:
            source = getattr(self, name)
            if source.seed is None:
                object.__setattr__(self, name, replace(source, seed=self.fakestore.seed))
        if not self.orders.customers:
            object.__setattr__(self, "orders", replace(self.orders, customers=self.fakestore.users))
        if self.now is not None:
            object.__setattr__(self, "now", as_utc(self.now))

    @property
    def seed(self) -> int:
        return self.fakestore.seed

    @classmethod
    def of(cls, config: SandboxConfig | FakeStoreConfig | None) -> SandboxConfig:
        """A sandbox config from any accepted form: a bare Fake Store config gets the other sources' defaults."""
        if config is None:
            return cls()
        if isinstance(config, FakeStoreConfig):
            return cls(fakestore=config)
        if isinstance(config, SandboxConfig):
            return config
        raise TypeError(f"expected a SandboxConfig or a FakeStoreConfig, got {type(config).__name__}")

    def as_dict(self) -> dict[str, Any]:
        return {
            "fakestore": self.fakestore.as_dict(),
            "openweather": self.openweather.as_dict(),
            "alphavantage": self.alphavantage.as_dict(),
            "orders": self.orders.as_dict(),
            "now": None if self.now is None else format_instant(self.now),
        }

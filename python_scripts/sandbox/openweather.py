"""OpenWeatherMap current weather (``/data/2.5/weather``): deterministic observations of the Fake Store cities.

An observation is the weather at the sandbox clock floored to :data:`OBSERVATION_SECONDS`, a function of
(seed, city, dt) only. Each quantity is a smooth climate curve (season by latitude, hour by solar time)
plus value noise: seeded values at fixed knots in time, eased between them, so consecutive observations
differ a little and the same instant always gives the same weather. Computed in SI units and converted
for ``units``; overrides (entity ``observations``, id = city id) patch the served record.
"""

from __future__ import annotations

import functools
import hashlib
import math
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from datetime import UTC, date, datetime
from typing import Any, NamedTuple
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Request
from fastapi.responses import Response

from python_scripts.sandbox.clock import SandboxClock
from python_scripts.sandbox.fakestore import CITIES, CITY_COORDINATES, FakeStoreConfig
from python_scripts.sandbox.overrides import Overrides
from python_scripts.sandbox.quotas import WindowQuota
from python_scripts.sandbox.web import Source, json_response

SOURCE = "openweather"
ENTITIES = ("observations",)
PATH = "/data/2.5/weather"
OBSERVATION_SECONDS = 600
UNITS = ("standard", "metric", "imperial")
NEAREST_CITY_KM = 100.0

INVALID_KEY = "Invalid API key. Please see https://openweathermap.org/faq#error401 for more info."
RATE_LIMITED = (
    "Your account is temporary blocked due to exceeding of requests limitation of your subscription type. "
    "Please choose the proper subscription https://openweathermap.org/price"
)
CITY_NOT_FOUND = "city not found"
NOTHING_TO_GEOCODE = "Nothing to geocode"
COUNTRY_ALIASES = {"UK": "GB"}


class City(NamedTuple):
    """A city the source knows, with the climate its weather is drawn around."""

    id: int
    name: str
    country: str
    lat: float
    lon: float
    timezone: str
    station_type: int
    station_id: int
    elevation: int
    mean_temp: float
    seasonal_swing: float
    daily_swing: float
    humidity: float
    wetness: float


# name: (id, country, IANA zone, sys.type, sys.id, elevation m, mean °C, seasonal ±°C, daily ±°C, RH %, wetness)
_CLIMATES: dict[str, tuple[int, str, str, int, int, int, float, float, float, float, float]] = {
    "London": (2643743, "GB", "Europe/London", 2, 2075535, 11, 11.3, 6.8, 3.5, 79, 0.30),
    "Paris": (2988507, "FR", "Europe/Paris", 2, 2041230, 35, 12.3, 7.8, 4.0, 75, 0.28),
    "Berlin": (2950159, "DE", "Europe/Berlin", 2, 2011538, 34, 10.3, 9.5, 4.0, 75, 0.27),
    "Madrid": (3117735, "ES", "Europe/Madrid", 2, 2007545, 657, 15.0, 10.0, 6.5, 57, 0.12),
    "Rome": (3169070, "IT", "Europe/Rome", 2, 2037790, 21, 15.7, 8.5, 5.5, 70, 0.18),
    "New York": (5128581, "US", "America/New_York", 1, 4610, 10, 13.0, 11.5, 4.0, 63, 0.25),
    "Chicago": (4887398, "US", "America/Chicago", 2, 2005153, 181, 10.4, 14.0, 4.5, 68, 0.25),
    "Toronto": (6167865, "CA", "America/Toronto", 2, 2043365, 76, 9.0, 13.5, 4.5, 71, 0.25),
    "Tokyo": (1850147, "JP", "Asia/Tokyo", 2, 2001249, 40, 16.3, 10.5, 3.5, 66, 0.25),
    "Sydney": (2147714, "AU", "Australia/Sydney", 2, 2018875, 58, 18.5, 4.8, 3.5, 66, 0.22),
    "Mumbai": (1275339, "IN", "Asia/Kolkata", 1, 9052, 14, 27.5, 2.5, 3.0, 75, 0.20),
    "São Paulo": (3448439, "BR", "America/Sao_Paulo", 1, 8394, 760, 20.0, 3.5, 4.5, 78, 0.30),
}
WEATHER_CITIES: tuple[City, ...] = tuple(
    City(
        id=_CLIMATES[name][0],
        name=name,
        country=_CLIMATES[name][1],
        lat=CITY_COORDINATES[name][0],
        lon=CITY_COORDINATES[name][1],
        timezone=_CLIMATES[name][2],
        station_type=_CLIMATES[name][3],
        station_id=_CLIMATES[name][4],
        elevation=_CLIMATES[name][5],
        mean_temp=_CLIMATES[name][6],
        seasonal_swing=_CLIMATES[name][7],
        daily_swing=_CLIMATES[name][8],
        humidity=_CLIMATES[name][9],
        wetness=_CLIMATES[name][10],
    )
    for name in CITIES
)
CITIES_BY_ID: dict[int, City] = {city.id: city for city in WEATHER_CITIES}
_CITIES_BY_NAME: dict[str, City] = {city.name.casefold(): city for city in WEATHER_CITIES}

# weather condition id: (main, description, icon without the d/n suffix)
CONDITIONS: dict[int, tuple[str, str, str]] = {
    500: ("Rain", "light rain", "10"),
    501: ("Rain", "moderate rain", "10"),
    600: ("Snow", "light snow", "13"),
    701: ("Mist", "mist", "50"),
    800: ("Clear", "clear sky", "01"),
    801: ("Clouds", "few clouds", "02"),
    802: ("Clouds", "scattered clouds", "03"),
    803: ("Clouds", "broken clouds", "04"),
    804: ("Clouds", "overcast clouds", "04"),
}

DEFAULT_SEED = FakeStoreConfig.seed
DAY = 86_400
HOUR = 3_600
_YEAR_DAYS = 365.2425
_WARMEST_DAY = 199  # days after 1 January: about 19 July, the warmest of the northern year
_KELVIN = 273.15
_MPH = 2.236936


@dataclass(frozen=True)
class OpenWeatherConfig:
    """What to serve. ``seed`` None: the sandbox seed (:data:`DEFAULT_SEED` outside a sandbox). ``api_key``
    empty: any non-empty ``appid`` is accepted. ``calls_per_minute`` 0: no rate limit (the free plan allows 60)."""

    seed: int | None = None
    api_key: str = ""
    calls_per_minute: int = 0

    def __post_init__(self) -> None:
        if self.calls_per_minute < 0:
            raise ValueError("calls_per_minute must be >= 0")

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def _unit(*parts: object) -> float:
    """A uniform draw in [0, 1) fixed by ``parts``, the same in every process."""
    digest = hashlib.blake2b("/".join(map(str, parts)).encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big") / 2**64


def _clamp(value: float, low: float, high: float) -> float:
    return min(max(value, low), high)


def sun_times(lat: float, lon: float, day: date) -> tuple[int, int]:
    """Sunrise and sunset (Unix seconds) of a calendar ``day`` at a place, to within a few minutes."""
    n = day.timetuple().tm_yday
    declination = math.radians(23.44) * math.sin(2 * math.pi * (284 + n) / 365)
    phi = math.radians(lat)
    cos_omega = (math.sin(math.radians(-0.833)) - math.sin(phi) * math.sin(declination)) / (
        math.cos(phi) * math.cos(declination)
    )
    half_day = math.degrees(math.acos(_clamp(cos_omega, -1.0, 1.0))) / 15
    b = 2 * math.pi * (n - 81) / 364
    equation_of_time = 9.87 * math.sin(2 * b) - 7.53 * math.cos(b) - 1.5 * math.sin(b)
    noon = 12 - lon / 15 - equation_of_time / 60
    midnight = datetime(day.year, day.month, day.day, tzinfo=UTC).timestamp()
    return round(midnight + (noon - half_day) * HOUR), round(midnight + (noon + half_day) * HOUR)


class WeatherModel:
    """Observations of every city for one seed, in SI units and °C (cached per city and dt)."""

    def __init__(self, seed: int) -> None:
        self.seed = seed
        self.observation = functools.lru_cache(maxsize=4096)(self._observe)

    def _noise(self, city: City, channel: str, t: int, period: int) -> float:
        """Smooth value noise in [-1, 1]: seeded knots every ``period`` seconds, eased in between."""
        knot, offset = divmod(t, period)
        a = _unit(self.seed, SOURCE, city.id, channel, period, knot)
        b = _unit(self.seed, SOURCE, city.id, channel, period, knot + 1)
        s = offset / period
        s = s * s * (3 - 2 * s)
        return 2 * (a + (b - a) * s) - 1

    def _observe(self, city_id: int, dt: int) -> dict[str, Any]:
        city = CITIES_BY_ID[city_id]
        noise = functools.partial(self._noise, city, t=dt)
        season = math.cos(2 * math.pi * (dt / DAY - _WARMEST_DAY) / _YEAR_DAYS)
        if city.lat < 0:
            season = -season
        solar_hour = (dt / HOUR + city.lon / 15) % 24
        afternoon = math.cos(2 * math.pi * (solar_hour - 15) / 24)

        cloud_share = _clamp(
            0.5 + 0.45 * noise("clouds", period=DAY) + 0.25 * noise("clouds", period=3 * HOUR) + city.wetness - 0.25,
            0.0,
            1.0,
        )
        clouds = round(cloud_share * 100)
        temp = (
            city.mean_temp
            + city.seasonal_swing * season
            + city.daily_swing * afternoon * (1 - 0.5 * cloud_share)
            + 3.0 * noise("temp", period=3 * DAY)
            + 1.0 * noise("temp", period=6 * HOUR)
        )
        wet = (0.6 * noise("precipitation", period=4 * HOUR) + 0.4 * noise("precipitation", period=2 * DAY) + 1) / 2
        dry_share = 1 - city.wetness
        precipitation = 0.0
        if clouds >= 60 and wet > dry_share:
            precipitation = round(0.1 + 3.9 * (wet - dry_share) / city.wetness, 2)
        humidity = round(
            _clamp(
                city.humidity
                + 12 * noise("humidity", period=DAY)
                - 2.0 * city.daily_swing * afternoon
                + 0.15 * (clouds - 50)
                + (12 if precipitation else 0),
                15,
                100,
            )
        )
        pressure = round(
            1013
            + 12 * noise("pressure", period=2 * DAY)
            + 3 * noise("pressure", period=6 * HOUR)
            - 4 * bool(precipitation)
        )
        wind = max(
            0.3,
            3.5 + 2.5 * noise("wind", period=12 * HOUR) + noise("wind", period=2 * HOUR) + 1.5 * bool(precipitation),
        )
        wind_deg = round(180 + 180 * noise("wind_deg", period=DAY)) % 360

        conditions: list[int] = []
        visibility = 10_000
        snow = bool(precipitation) and temp <= 1.0
        if precipitation:
            conditions.append(600 if snow else 500 if precipitation < 2.5 else 501)
            visibility = round(_clamp((4000 if snow else 10_000) - precipitation * 900, 1000, 10_000), -2)
        if humidity >= 95 and (not precipitation or humidity >= 98):
            conditions.append(701)
            visibility = min(visibility, round(1500 + 3500 * _unit(self.seed, SOURCE, city.id, "mist", dt), -2))
        if not conditions:
            conditions.append(
                800 if clouds < 11 else 801 if clouds < 25 else 802 if clouds <= 50 else 803 if clouds < 85 else 804
            )

        local_day = datetime.fromtimestamp(dt, ZoneInfo(city.timezone))
        sunrise, sunset = sun_times(city.lat, city.lon, local_day.date())
        vapour = humidity / 100 * 6.105 * math.exp(17.27 * temp / (237.7 + temp))
        below, above = (_unit(self.seed, SOURCE, city.id, "spread", side, dt) for side in ("min", "max"))
        gust_share = _unit(self.seed, SOURCE, city.id, "gust", dt)
        return {
            "city": city,
            "temp": temp,
            "feels_like": temp + 0.33 * vapour - 0.70 * wind - 4.0,
            "temp_min": temp - 1.6 * below,
            "temp_max": temp + 1.6 * above,
            "pressure": pressure,
            "humidity": humidity,
            "grnd_level": round(pressure * math.exp(-city.elevation / 8434)),
            "visibility": int(visibility),
            "wind": wind,
            "wind_deg": wind_deg,
            "gust": wind * (1.3 + 0.5 * gust_share) if wind >= 4 else None,
            "clouds": clouds,
            "conditions": conditions,
            "rain": None if snow or not precipitation else precipitation,
            "snow": precipitation if snow else None,
            "dt": dt,
            "daytime": sunrise <= dt < sunset,
            "sunrise": sunrise,
            "sunset": sunset,
            "timezone": int(local_day.utcoffset().total_seconds()),
            "station": _unit(self.seed, SOURCE, city.id, "station", dt) >= 0.15,
        }


def _temperature(celsius: float, units: str) -> float:
    if units == "metric":
        return round(celsius, 2)
    if units == "imperial":
        return round(celsius * 9 / 5 + 32, 2)
    return round(celsius + _KELVIN, 2)


def _speed(metres_per_second: float, units: str) -> float:
    return round(metres_per_second * _MPH if units == "imperial" else metres_per_second, 2)


def render(observation: Mapping[str, Any], units: str = "standard") -> dict[str, Any]:
    """The API's JSON for an observation, in ``units``."""
    city: City = observation["city"]
    suffix = "d" if observation["daytime"] else "n"
    weather = []
    for condition in observation["conditions"]:
        main, description, icon = CONDITIONS[condition]
        weather.append({"id": condition, "main": main, "description": description, "icon": icon + suffix})
    wind = {"speed": _speed(observation["wind"], units), "deg": observation["wind_deg"]}
    if observation["gust"] is not None:
        wind["gust"] = _speed(observation["gust"], units)
    record: dict[str, Any] = {
        "coord": {"lon": city.lon, "lat": city.lat},
        "weather": weather,
        "base": "stations",
        "main": {
            **{key: _temperature(observation[key], units) for key in ("temp", "feels_like", "temp_min", "temp_max")},
            "pressure": observation["pressure"],
            "humidity": observation["humidity"],
            "sea_level": observation["pressure"],
            "grnd_level": observation["grnd_level"],
        },
        "visibility": observation["visibility"],
        "wind": wind,
    }
    for kind in ("rain", "snow"):
        if observation[kind] is not None:
            record[kind] = {"1h": observation[kind]}
    sys: dict[str, Any] = {"type": city.station_type, "id": city.station_id} if observation["station"] else {}
    record.update(
        {
            "clouds": {"all": observation["clouds"]},
            "dt": observation["dt"],
            "sys": {**sys, "country": city.country, "sunrise": observation["sunrise"], "sunset": observation["sunset"]},
            "timezone": observation["timezone"],
            "id": city.id,
            "name": city.name,
            "cod": 200,
        }
    )
    return record


class OpenWeather:
    """Current weather for one config at the sandbox clock, with the patches of ``overrides`` applied."""

    def __init__(
        self, config: OpenWeatherConfig, clock: SandboxClock | None = None, overrides: Overrides | None = None
    ) -> None:
        self.config = config
        self.clock = clock or SandboxClock()
        self.model = WeatherModel(DEFAULT_SEED if config.seed is None else config.seed)
        self.quota = WindowQuota(config.calls_per_minute, 60.0)
        self._overrides = Overrides() if overrides is None else overrides

    def observation_time(self, now: datetime | None = None) -> int:
        """The ``dt`` of the latest observation at ``now`` (default: the sandbox clock)."""
        timestamp = int((now or self.clock.now()).timestamp())
        return timestamp - timestamp % OBSERVATION_SECONDS

    def current(self, city: City, units: str = "standard", now: datetime | None = None) -> dict[str, Any]:
        record = render(self.model.observation(city.id, self.observation_time(now)), units)
        return self._overrides.apply(SOURCE, "observations", record)


def find_city(name: str) -> City | None:
    """The city named ``name`` (any case, accents as written), optionally followed by ``,country`` (or
    ``,state,country``); the country is an ISO 3166 code, or ``UK``."""
    parts = [part.strip() for part in name.split(",")]
    city = _CITIES_BY_NAME.get(parts[0].casefold())
    country = parts[-1].upper() if len(parts) > 1 else ""
    if city is None or not country:
        return city
    return city if COUNTRY_ALIASES.get(country, country) == city.country else None


def nearest_city(lat: float, lon: float, within_km: float = NEAREST_CITY_KM) -> City | None:
    """The city closest to a point, if one is within ``within_km``."""

    def distance(city: City) -> float:
        p1, p2 = math.radians(lat), math.radians(city.lat)
        dp, dl = p2 - p1, math.radians(city.lon - lon)
        a = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
        return 2 * 6371.0 * math.asin(math.sqrt(a))

    city = min(WEATHER_CITIES, key=distance)
    return city if distance(city) <= within_km else None


def _error(status: int, cod: int | str, message: str) -> Response:
    return json_response({"cod": cod, "message": message}, status)


def _coordinate(value: str, low: float, high: float) -> float | None:
    try:
        number = float(value)
    except ValueError:
        return None
    return number if math.isfinite(number) and low <= number <= high else None


def router(weather: OpenWeather) -> APIRouter:
    api = APIRouter(tags=[SOURCE])

    @api.get(PATH)
    def current_weather(request: Request) -> Response:
        params = request.query_params
        appid = params.get("appid", "")
        if not appid or (weather.config.api_key and appid != weather.config.api_key):
            return _error(401, 401, INVALID_KEY)
        if not weather.quota.allow(appid):
            return _error(429, 429, RATE_LIMITED)
        units = params.get("units") or "standard"
        if units not in UNITS:
            return _error(400, "400", f"{units} is not a valid units value")
        coord = None
        if params.get("q"):
            city = find_city(params["q"])
        elif params.get("id"):
            city_id = params["id"].strip()
            city = CITIES_BY_ID.get(int(city_id)) if city_id.isdigit() else None
        elif params.get("lat") and params.get("lon"):
            lat = _coordinate(params["lat"], -90, 90)
            lon = _coordinate(params["lon"], -180, 180)
            if lat is None:
                return _error(400, "400", "wrong latitude")
            if lon is None:
                return _error(400, "400", "wrong longitude")
            city, coord = nearest_city(lat, lon), {"lon": round(lon, 4), "lat": round(lat, 4)}
        else:
            return _error(400, "400", NOTHING_TO_GEOCODE)
        if city is None:
            return _error(404, "404", CITY_NOT_FOUND)
        record = weather.current(city, units)
        if coord is not None:
            record["coord"] = coord
        return json_response(record)

    return api


def build_source(config: OpenWeatherConfig, clock: SandboxClock, overrides: Overrides) -> Source:
    weather = OpenWeather(config, clock, overrides)
    return Source(SOURCE, ENTITIES, router(weather), config.as_dict(), quotas=(weather.quota,))

"""The OpenWeatherMap current-weather emulation: shape, lookups, units, errors, clock, overrides, determinism."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta

import pytest

from python_scripts.sandbox import (
    CITIES,
    WEATHER_CITIES,
    FakeStoreConfig,
    OpenWeather,
    OpenWeatherConfig,
    SandboxConfig,
)
from tests.sandbox.support import CONFIG, NOW, validate

WEATHER = "/data/2.5/weather"
KEY = "test-key"
# name: (country, OpenWeatherMap city id, UTC offset in January)
EXPECTED_CITIES = {
    "London": ("GB", 2643743, 0),
    "Paris": ("FR", 2988507, 3600),
    "Berlin": ("DE", 2950159, 3600),
    "Madrid": ("ES", 3117735, 3600),
    "Rome": ("IT", 3169070, 3600),
    "New York": ("US", 5128581, -18000),
    "Chicago": ("US", 4887398, -21600),
    "Toronto": ("CA", 6167865, -18000),
    "Tokyo": ("JP", 1850147, 32400),
    "Sydney": ("AU", 2147714, 39600),
    "Mumbai": ("IN", 1275339, 19800),
    "São Paulo": ("BR", 3448439, -10800),
}
NOW_DT = 1736510400  # 2025-01-10T12:00:00Z
INVALID_KEY = {
    "cod": 401,
    "message": "Invalid API key. Please see https://openweathermap.org/faq#error401 for more info.",
}
NOT_FOUND = {"cod": "404", "message": "city not found"}
NOTHING_TO_GEOCODE = {"cod": "400", "message": "Nothing to geocode"}
RATE_LIMITED = {
    "cod": 429,
    "message": "Your account is temporary blocked due to exceeding of requests limitation of your subscription "
    "type. Please choose the proper subscription https://openweathermap.org/price",
}
CONDITIONS = {
    500: ("Rain", "10"),
    501: ("Rain", "10"),
    600: ("Snow", "13"),
    701: ("Mist", "50"),
    800: ("Clear", "01"),
    801: ("Clouds", "02"),
    802: ("Clouds", "03"),
    803: ("Clouds", "04"),
    804: ("Clouds", "04"),
}

_NUMBER = {"type": "number"}
_INT = {"type": "integer"}
_PRECIPITATION = {
    "type": "object",
    "required": ["1h"],
    "additionalProperties": False,
    "properties": {"1h": {"type": "number", "exclusiveMinimum": 0}},
}
WEATHER_SCHEMA = {
    "type": "object",
    "required": [
        *("coord", "weather", "base", "main", "visibility", "wind", "clouds", "dt", "sys", "timezone"),
        *("id", "name", "cod"),
    ],
    "additionalProperties": False,
    "properties": {
        "coord": {
            "type": "object",
            "required": ["lon", "lat"],
            "additionalProperties": False,
            "properties": {
                "lon": {"type": "number", "minimum": -180, "maximum": 180},
                "lat": {"type": "number", "minimum": -90, "maximum": 90},
            },
        },
        "weather": {
            "type": "array",
            "minItems": 1,
            "items": {
                "type": "object",
                "required": ["id", "main", "description", "icon"],
                "additionalProperties": False,
                "properties": {
                    "id": {"enum": sorted(CONDITIONS)},
                    "main": {"enum": sorted({main for main, _ in CONDITIONS.values()})},
                    "description": {"type": "string", "minLength": 1},
                    "icon": {"type": "string", "pattern": "^(01|02|03|04|09|10|11|13|50)[dn]$"},
                },
            },
        },
        "base": {"const": "stations"},
        "main": {
            "type": "object",
            "required": [
                *("temp", "feels_like", "temp_min", "temp_max"),
                *("pressure", "humidity", "sea_level", "grnd_level"),
            ],
            "additionalProperties": False,
            "properties": {
                "temp": _NUMBER,
                "feels_like": _NUMBER,
                "temp_min": _NUMBER,
                "temp_max": _NUMBER,
                "pressure": {"type": "integer", "minimum": 900, "maximum": 1100},
                "humidity": {"type": "integer", "minimum": 0, "maximum": 100},
                "sea_level": {"type": "integer", "minimum": 900, "maximum": 1100},
                "grnd_level": {"type": "integer", "minimum": 800, "maximum": 1100},
            },
        },
        "visibility": {"type": "integer", "minimum": 0, "maximum": 10000},
        "wind": {
            "type": "object",
            "required": ["speed", "deg"],
            "additionalProperties": False,
            "properties": {
                "speed": {"type": "number", "minimum": 0},
                "deg": {"type": "integer", "minimum": 0, "maximum": 360},
                "gust": {"type": "number", "minimum": 0},
            },
        },
        "rain": _PRECIPITATION,
        "snow": _PRECIPITATION,
        "clouds": {
            "type": "object",
            "required": ["all"],
            "additionalProperties": False,
            "properties": {"all": {"type": "integer", "minimum": 0, "maximum": 100}},
        },
        "dt": _INT,
        "sys": {
            "type": "object",
            "required": ["country", "sunrise", "sunset"],
            "additionalProperties": False,
            "dependentRequired": {"type": ["id"], "id": ["type"]},
            "properties": {
                "type": _INT,
                "id": _INT,
                "country": {"type": "string", "pattern": "^[A-Z]{2}$"},
                "sunrise": _INT,
                "sunset": _INT,
            },
        },
        "timezone": _INT,
        "id": _INT,
        "name": {"type": "string", "minLength": 1},
        "cod": {"const": 200},
    },
}


def weather(sandbox, **params):
    return sandbox.get(WEATHER, **{"appid": KEY, **params})


def check_consistency(record: dict, units: str = "metric") -> None:
    """What must hold between the fields of one observation."""
    validate(record, WEATHER_SCHEMA)
    main = record["main"]
    assert main["temp_min"] <= main["temp"] <= main["temp_max"]
    assert main["sea_level"] == main["pressure"]
    assert main["grnd_level"] <= main["pressure"]
    ids = [condition["id"] for condition in record["weather"]]
    assert len(set(ids)) == len(ids)
    for condition in record["weather"]:
        main_name, icon = CONDITIONS[condition["id"]]
        assert condition["main"] == main_name
        assert condition["icon"][:2] == icon
    daytime = record["sys"]["sunrise"] <= record["dt"] < record["sys"]["sunset"]
    assert {condition["icon"][2] for condition in record["weather"]} == {"d" if daytime else "n"}
    assert ("rain" in record) == any(i in (500, 501) for i in ids)
    assert ("snow" in record) == (600 in ids)
    assert not ("rain" in record and "snow" in record)
    freezing = {"metric": 1.0, "imperial": 33.8, "standard": 274.15}[units]
    if "snow" in record:
        assert main["temp"] <= freezing + 0.01
    if "gust" in record["wind"]:
        assert record["wind"]["gust"] >= record["wind"]["speed"]
    for value in (main["temp"], main["feels_like"], main["temp_min"], main["temp_max"], record["wind"]["speed"]):
        assert round(value, 2) == value


# --- shape ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("units", ["standard", "metric", "imperial"])
def test_every_city_answers_with_the_current_weather_shape(sandbox, units):
    for name in CITIES:
        country, city_id, offset = EXPECTED_CITIES[name]
        response = weather(sandbox, q=f"{name},{country}", units=units)
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("application/json")
        record = response.json()
        check_consistency(record, units)
        assert (record["name"], record["sys"]["country"], record["id"]) == (name, country, city_id)
        assert record["timezone"] == offset
        assert record["dt"] == NOW_DT
        assert record["sys"]["sunrise"] < record["sys"]["sunset"] < record["sys"]["sunrise"] + 86_400


def test_the_city_table_is_the_fake_store_city_list_with_countries_and_ids():
    assert [city.name for city in WEATHER_CITIES] == list(CITIES)
    assert {city.name: (city.country, city.id) for city in WEATHER_CITIES} == {
        name: (country, city_id) for name, (country, city_id, _) in EXPECTED_CITIES.items()
    }


def test_key_order_follows_the_real_api(sandbox):
    keys = list(weather(sandbox, q="London").json())
    expected = ["coord", "weather", "base", "main", "visibility", "wind", "clouds", "dt", "sys", "timezone"]
    assert [key for key in keys if key not in ("rain", "snow")] == [*expected, "id", "name", "cod"]


def test_sunrise_and_sunset_are_roughly_right(sandbox):
    def utc(record, key):
        return datetime.fromtimestamp(record["sys"][key], UTC)

    london = weather(sandbox, q="London").json()
    assert abs(utc(london, "sunrise") - datetime(2025, 1, 10, 8, 4, tzinfo=UTC)) < timedelta(minutes=10)
    assert abs(utc(london, "sunset") - datetime(2025, 1, 10, 16, 13, tzinfo=UTC)) < timedelta(minutes=10)
    sydney = weather(sandbox, q="Sydney").json()  # 05:58 and 20:10 AEDT (UTC+11)
    assert abs(utc(sydney, "sunrise") - datetime(2025, 1, 9, 18, 58, tzinfo=UTC)) < timedelta(minutes=10)
    assert abs(utc(sydney, "sunset") - datetime(2025, 1, 10, 9, 10, tzinfo=UTC)) < timedelta(minutes=10)


# --- lookups -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("params", "name"),
    [
        ({"q": "LONDON"}, "London"),
        ({"q": "london,gb"}, "London"),
        ({"q": "London,uk"}, "London"),
        ({"q": "new york, US"}, "New York"),
        ({"q": "New York,NY,US"}, "New York"),
        ({"q": "Paris,"}, "Paris"),
        ({"q": "SÃO PAULO"}, "São Paulo"),
        ({"q": "são paulo,br"}, "São Paulo"),
        ({"id": "1850147"}, "Tokyo"),
        ({"lat": "48.85", "lon": "2.35"}, "Paris"),
    ],
)
def test_a_city_is_found_by_name_id_or_coordinates(sandbox, params, name):
    response = weather(sandbox, units="metric", **params)
    assert response.status_code == 200
    record = response.json()
    assert record["name"] == name
    by_name = weather(sandbox, q=name, units="metric").json()
    assert {**record, "coord": None} == {**by_name, "coord": None}


def test_coordinates_are_echoed_rounded(sandbox):
    record = weather(sandbox, lat="51.512345678", lon="-0.0912345").json()
    assert record["coord"] == {"lon": -0.0912, "lat": 51.5123}
    assert record["name"] == "London"


@pytest.mark.parametrize(
    "params",
    [
        {"q": "Sao Paulo"},
        {"q": "London,FR"},
        {"q": "Atlantis"},
        {"id": "1"},
        {"id": "london"},
        {"lat": "0", "lon": "-30"},
    ],
)
def test_an_unknown_city_answers_404_with_a_string_cod(sandbox, params):
    response = weather(sandbox, **params)
    assert response.status_code == 404
    assert response.headers["content-type"].startswith("application/json")
    assert response.json() == NOT_FOUND


@pytest.mark.parametrize("params", [{}, {"q": ""}, {"lat": "51.5"}, {"lon": "-0.12"}, {"units": "metric"}])
def test_a_request_without_a_place_answers_400(sandbox, params):
    response = weather(sandbox, **params)
    assert response.status_code == 400
    assert response.json() == NOTHING_TO_GEOCODE


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"q": "London", "units": "kelvin"}, "kelvin is not a valid units value"),
        ({"lat": "north", "lon": "0"}, "wrong latitude"),
        ({"lat": "91", "lon": "0"}, "wrong latitude"),
        ({"lat": "51.5", "lon": "181"}, "wrong longitude"),
    ],
)
def test_a_bad_parameter_answers_400(sandbox, params, message):
    response = weather(sandbox, **params)
    assert response.status_code == 400
    assert response.json() == {"cod": "400", "message": message}


def test_lang_is_accepted_and_ignored(sandbox):
    assert weather(sandbox, q="Rome", lang="it").json() == weather(sandbox, q="Rome").json()


# --- units ---------------------------------------------------------------------------------------


def test_units_convert_temperatures_and_wind_only(sandbox):
    for name in CITIES:
        kelvin, celsius, fahrenheit = (
            weather(sandbox, q=name, units=u).json() for u in ("standard", "metric", "imperial")
        )
        assert weather(sandbox, q=name).json() == kelvin
        for key in ("temp", "feels_like", "temp_min", "temp_max"):
            c = celsius["main"][key]
            assert kelvin["main"][key] == pytest.approx(c + 273.15, abs=0.011)
            assert fahrenheit["main"][key] == pytest.approx(c * 9 / 5 + 32, abs=0.021)
        for key in ("speed", "gust"):
            if key in celsius["wind"]:
                assert kelvin["wind"][key] == celsius["wind"][key]
                assert fahrenheit["wind"][key] == pytest.approx(celsius["wind"][key] * 2.236936, abs=0.011)
        for record in (kelvin, fahrenheit):
            assert record["wind"]["deg"] == celsius["wind"]["deg"]
            assert {k: v for k, v in record.items() if k not in ("main", "wind")} == {
                k: v for k, v in celsius.items() if k not in ("main", "wind")
            }
            assert {k: record["main"][k] for k in ("pressure", "humidity", "sea_level", "grnd_level")} == {
                k: celsius["main"][k] for k in ("pressure", "humidity", "sea_level", "grnd_level")
            }


# --- plausibility over a year (Python API, the same code the routes use) ---------------------------------


def test_a_year_of_observations_is_plausible():
    model = OpenWeather(OpenWeatherConfig(seed=7))
    seen: set[int] = set()
    for city in WEATHER_CITIES:
        january, july = [], []
        for hours in range(0, 365 * 24, 31):
            now = datetime(2025, 1, 1, tzinfo=UTC) + timedelta(hours=hours, minutes=4)
            record = model.current(city, "metric", now)
            check_consistency(record)
            assert record["dt"] == int(now.timestamp()) // 600 * 600
            assert -30 < record["main"]["temp"] < 45
            seen.update(condition["id"] for condition in record["weather"])
            (january if now.month == 1 else july if now.month == 7 else []).append(record["main"]["temp"])
        winter, summer = (sum(temps) / len(temps) for temps in (january, july))
        assert (winter < summer - 3) if city.lat > 30 else (winter > summer + 3) if city.lat < -20 else True
    assert {500, 600, 701, 800, 801, 802, 803, 804} <= seen


def test_the_temperature_moves_smoothly_and_follows_the_day():
    model = OpenWeather(OpenWeatherConfig(seed=1))
    london = next(city for city in WEATHER_CITIES if city.name == "London")
    start = datetime(2025, 7, 1, tzinfo=UTC)
    temps = [model.current(london, "metric", start + timedelta(minutes=10 * i))["main"]["temp"] for i in range(144 * 7)]
    assert max(abs(a - b) for a, b in itertools.pairwise(temps)) < 1.0
    by_hour = [sum(temps[h * 6 + 144 * d] for d in range(7)) / 7 for h in range(24)]
    assert sum(by_hour[12:18]) / 6 > sum(by_hour[0:6]) / 6 + 2


# --- clock ---------------------------------------------------------------------------------------


def test_the_observation_follows_the_sandbox_clock(sandbox):
    at_noon = weather(sandbox, q="Berlin").json()
    assert at_noon["dt"] == NOW_DT
    sandbox.set_clock("2025-01-10T12:09:59Z")
    assert weather(sandbox, q="Berlin").json() == at_noon
    sandbox.set_clock("2025-01-10T12:10:00Z")
    later = weather(sandbox, q="Berlin").json()
    assert later["dt"] == NOW_DT + 600
    assert later["main"] != at_noon["main"]
    sandbox.set_clock("2025-07-10T14:03:00+02:00")
    summer = weather(sandbox, q="Berlin").json()
    assert summer["dt"] == int(datetime(2025, 7, 10, 12, 0, tzinfo=UTC).timestamp())
    assert summer["timezone"] == 7200
    assert summer["main"]["temp"] > at_noon["main"]["temp"]
    sandbox.clear("clock")
    assert weather(sandbox, q="Berlin").json() == at_noon


def test_without_a_configured_instant_the_observation_is_current(serve):
    client = serve(SandboxConfig())
    before = datetime.now(UTC).timestamp()
    dt = weather(client, q="Tokyo").json()["dt"]
    assert before - 600 < dt <= datetime.now(UTC).timestamp()
    assert dt % 600 == 0


# --- keys and rate limits ------------------------------------------------------------------------


@pytest.mark.parametrize("params", [{"q": "London"}, {"q": "London", "appid": ""}])
def test_a_missing_key_answers_401(sandbox, params):
    response = sandbox.get(WEATHER, **params)
    assert response.status_code == 401
    assert response.json() == INVALID_KEY


def test_a_configured_key_is_the_only_one_accepted(serve):
    client = serve(SandboxConfig(openweather=OpenWeatherConfig(api_key="s3cret")))
    wrong = client.get(WEATHER, q="Paris", appid="other")
    assert (wrong.status_code, wrong.json()) == (401, INVALID_KEY)
    assert client.get(WEATHER, q="Paris", appid="s3cret").status_code == 200


def test_calls_beyond_the_per_minute_limit_answer_429_per_key(serve):
    client = serve(SandboxConfig(openweather=OpenWeatherConfig(calls_per_minute=3), now=NOW))
    statuses = [client.get(WEATHER, q="Rome", appid="a").status_code for _ in range(3)]
    assert statuses == [200, 200, 200]
    refused = client.get(WEATHER, q="Rome", appid="a")
    assert (refused.status_code, refused.json()) == (429, RATE_LIMITED)
    assert client.get(WEATHER, q="Rome", appid="b").status_code == 200
    assert client.get(WEATHER, q="Rome").status_code == 401
    client.clear("quotas")
    assert client.get(WEATHER, q="Rome", appid="a").status_code == 200


def test_the_default_config_has_no_rate_limit(sandbox):
    assert {weather(sandbox, id="2643743").status_code for _ in range(70)} == {200}


# --- overrides -----------------------------------------------------------------------------------


def test_an_override_is_deep_merged_into_one_city_s_observation(sandbox):
    original = weather(sandbox, q="London", units="metric").json()
    paris = weather(sandbox, q="Paris").json()
    patch = {"main": {"temp": -3.5}, "weather": [{"id": 600, "main": "Snow", "description": "light snow"}]}
    response = sandbox.control(
        "overrides", {"source": "openweather", "entity": "observations", "id": 2643743, "patch": patch}
    )
    assert response.status_code == 201
    patched = weather(sandbox, q="London", units="metric").json()
    assert patched == {**original, "main": {**original["main"], "temp": -3.5}, "weather": patch["weather"]}
    assert weather(sandbox, id="2643743", units="metric").json() == patched
    assert weather(sandbox, q="Paris").json() == paris
    sandbox.clear("overrides")
    assert weather(sandbox, q="London", units="metric").json() == original


@pytest.mark.parametrize(
    "body",
    [
        {"source": "openweather", "entity": "forecasts", "id": 2643743, "patch": {}},
        {"source": "openweather", "entity": "observations", "id": 2643743, "patch": {"id": 1}},
    ],
)
def test_invalid_weather_overrides_answer_400(sandbox, body):
    assert sandbox.control("overrides", body).status_code == 400


# --- determinism ---------------------------------------------------------------------------------


def all_cities(client, units: str = "metric") -> list[bytes]:
    return [client.get(WEATHER, q=name, appid=KEY, units=units).content for name in CITIES]


def test_the_same_config_serves_the_same_bytes_and_another_seed_does_not(sandbox, serve):
    assert all_cities(serve(CONFIG)) == all_cities(sandbox)
    other = all_cities(serve(SandboxConfig(fakestore=FakeStoreConfig(seed=43), now=NOW)))
    assert all(a != b for a, b in zip(other, all_cities(sandbox), strict=True))
    own_seed = SandboxConfig(fakestore=FakeStoreConfig(seed=43), openweather=OpenWeatherConfig(seed=42), now=NOW)
    assert all_cities(serve(own_seed)) == all_cities(sandbox)


def test_the_python_api_serves_the_same_observation(sandbox):
    model = OpenWeather(CONFIG.openweather)
    for city in WEATHER_CITIES:
        assert model.current(city, "imperial", NOW) == weather(sandbox, id=str(city.id), units="imperial").json()

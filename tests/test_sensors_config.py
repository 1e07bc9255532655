"""``[[sensors]]`` validation: clear errors naming node.toml and the entry."""

from __future__ import annotations

import pytest

from vault_agent.errors import RecordError
from vault_agent.sensors.config import load_specs, parse_sensors, validate_sensors
from vault_agent.vault import Vault
from vault_agent.vault.check import check_tree


def test_valid_entries_with_defaults():
    specs = parse_sensors(
        [
            {"id": "kitchen-temp", "driver": "bme280", "address": "0x77"},
            {"id": "kitchen-hum", "driver": "bme280", "quantity": "humidity", "address": 0x77},
            {"id": "hall-motion", "driver": "motion", "pin": 17},
            {
                "id": "soil",
                "driver": "mcp3008",
                "channel": 2,
                "quantity": "soil",
                "unit": "%",
                "scale": 30.3,
            },
        ]
    )
    t, h, m, s = specs
    assert (t.quantity, t.unit, t.interval_s, t.params["address"]) == (
        "temperature",
        "°C",
        60.0,
        0x77,
    )
    assert (h.unit, m.binary, m.interval_s, m.quantity) == ("%RH", True, 1.0, "motion")
    assert (s.quantity, s.unit, s.binary) == ("soil", "%", False)


@pytest.mark.parametrize(
    "entries,message",
    [
        ([{"id": "x", "driver": "dht22", "pin": 4}], "unknown driver 'dht22'"),
        (
            [{"id": "a", "driver": "motion", "pin": 4}, {"id": "a", "driver": "door", "pin": 5}],
            "duplicate sensor id 'a'",
        ),
        ([{"id": "a", "driver": "motion", "pin": 40}], "pin 40 is not a BCM GPIO number"),
        ([{"id": "a", "driver": "motion", "pin": "P9"}], "is not a GPIO pin"),
        ([{"id": "a", "driver": "motion"}], "needs pin"),
        (
            [
                {"id": "a", "driver": "motion", "pin": 4},
                {"id": "b", "driver": "door", "pin": "GPIO4"},
            ],
            "pin GPIO4 is already used by sensor 'a'",
        ),
        ([{"id": "a", "driver": "bme280", "address": 0x40}], "0x40 is not a BME280 I2C address"),
        ([{"id": "a", "driver": "sht31", "address": "zz"}], "address must be an integer"),
        ([{"id": "a", "driver": "bme280", "quantity": "co2"}], "has no quantity 'co2'"),
        (
            [{"id": "a", "driver": "bme280"}, {"id": "b", "driver": "sht31", "address": 0x76}],
            "address 0x76 is not a SHT31 I2C address (use 0x44 or 0x45)",
        ),
        ([{"id": "a", "driver": "mcp3008", "channel": 9}], "channel 9 is not an MCP3008 channel"),
        ([{"id": "Bad Id", "driver": "motion", "pin": 4}], "id 'Bad Id' is missing or invalid"),
        ([{"id": "a", "driver": "motion", "pin": 4, "interval_s": 0}], "interval_s must be > 0"),
        ([{"id": "a", "driver": "motion", "pin": 4, "colour": "red"}], "unknown key(s) colour"),
        ("nope", "must be an array of tables"),
    ],
)
def test_bad_entries_raise_record_error(entries, message):
    with pytest.raises(RecordError) as e:
        validate_sensors(entries, "agents/n1/node.toml")
    assert e.value.path == "agents/n1/node.toml"
    assert message in str(e.value)


def test_one_chip_serves_several_ids():
    specs = parse_sensors(
        [
            {"id": "a", "driver": "bme280", "address": 0x76},
            {"id": "b", "driver": "bme280", "quantity": "humidity", "address": 0x76},
            {"id": "c", "driver": "bme280", "quantity": "pressure", "bus": 3},
        ]
    )
    assert [(s.quantity, s.unit) for s in specs] == [
        ("temperature", "°C"),
        ("humidity", "%RH"),
        ("pressure", "hPa"),
    ]
    assert specs[2].params == {"bus": 3}


def test_vault_check_reports_sensor_problems(tmp_path):
    v, _ = Vault.init(tmp_path / "v", "n1")
    cfg = v.node_config()
    cfg["sensors"] = [
        {"id": "t", "driver": "bme280", "bus": 1, "address": 0x76},
        {"id": "t", "driver": "sht31"},
    ]
    v.write_node_config(cfg)
    problems = check_tree(v.root)
    assert any(
        p.path == "agents/n1/node.toml" and "duplicate sensor id 't'" in p.message for p in problems
    )
    cfg["sensors"] = cfg["sensors"][:1]
    v.write_node_config(cfg)
    assert not [p for p in check_tree(v.root) if p.path.endswith("node.toml")]
    assert [s.id for s in load_specs(v)] == ["t"]

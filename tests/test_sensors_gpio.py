"""gpiozero drivers on gpiozero's MockFactory: the test drives the mock pins."""

from __future__ import annotations

import time

import pytest
from gpiozero import Device
from gpiozero.pins.mock import MockFactory, MockSPIDevice, MockTriggerPin

from vault_agent.sensors.base import BusError, OutOfRangeError, SensorDriver
from vault_agent.sensors.config import parse_sensors
from vault_agent.sensors.drivers import make_driver
from vault_agent.sensors.gpio import CPUTemperatureDriver, DistanceDriver


@pytest.fixture
def pins():
    factory = MockFactory()
    old = Device.pin_factory
    Device.pin_factory = factory
    yield factory
    factory.reset()
    Device.pin_factory = old


def spec(**entry):
    return parse_sensors([{"id": "s", **entry}])[0]


def wait_for(fn, value, timeout=2.0):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        got = fn()
        if got == value:
            return got
        time.sleep(0.02)
    return fn()


def test_motion_sensor(pins):
    d = make_driver(spec(driver="motion", pin=17))
    assert isinstance(d, SensorDriver)
    pin = pins.pin(17)
    assert wait_for(lambda: d.read()["motion"], 0.0) == 0.0
    pin.drive_high()
    assert wait_for(lambda: d.read()["motion"], 1.0) == 1.0
    pin.drive_low()
    assert wait_for(lambda: d.read()["motion"], 0.0) == 0.0
    d.close()


def test_door_contact_open_is_on(pins):
    d = make_driver(spec(driver="door", pin=27))
    d.read()  # builds the gpiozero Button (pull-up on), as the sampler's first read does
    pin = pins.pin(27)
    pin.drive_low()  # pulled-up input shorted to ground by the reed switch: door shut
    assert d.read() == {"door": 0.0}
    pin.drive_high()  # magnet away, contact open: door open
    assert d.read() == {"door": 1.0}
    d.close()
    b = make_driver(spec(driver="button", pin=22))
    assert b.read() == {"button": 0.0}
    pins.pin(22).drive_low()
    assert b.read() == {"button": 1.0}


@pytest.mark.filterwarnings("ignore::gpiozero.PWMSoftwareFallback")
def test_distance_sensor(pins):
    echo = pins.pin(24)
    pins.pin(23, pin_class=MockTriggerPin, echo_pin=echo, echo_time=0.004)  # 0.686 m
    d = DistanceDriver(echo=24, trigger=23, max_distance=2.0)
    end = time.monotonic() + 3
    dist = d.read()["distance"]
    # The mock answers from its own thread with a sleep: on a busy machine one echo can be
    # missed (0.0 or max_distance, gpiozero warns "no echo received") or stretched. A
    # correct driver reads ~0.686 m as soon as one echo comes on time; retry until then.
    while not 0.5 < dist < 0.9 and time.monotonic() < end:
        time.sleep(0.05)
        dist = d.read()["distance"]
    assert 0.5 < dist < 0.9
    d.close()


class MockMCP3008(MockSPIDevice):
    """Slave side of an MCP3008 (datasheet §5: start bit, SGL/DIFF, D2..D0, then a null bit
    and 10 data bits), after gpiozero's own test double."""

    def __init__(self, clock_pin, mosi_pin, miso_pin, select_pin, vref=3.3):
        super().__init__(clock_pin, mosi_pin, miso_pin, select_pin)
        self.vref = vref
        self.channels = [0.0] * 8
        self.state = "idle"

    def on_start(self):
        super().on_start()
        self.state = "idle"

    def on_bit(self):
        if self.state == "idle":
            if self.rx_buf[-1]:
                self.state, self.rx_buf = "mode", []
        elif self.state == "mode":
            self.state, self.rx_buf = ("single" if self.rx_buf[-1] else "diff"), []
        elif self.state in ("single", "diff"):
            if len(self.rx_buf) == 3:
                value = min(max(self.channels[self.rx_word()], 0), self.vref)
                self.tx_word(round(value / self.vref * 1023), 10 + 2)
                self.state = "result"
        elif self.state == "result" and not self.tx_buf:
            self.state, self.rx_buf = "idle", []


def test_mcp3008_channel_scaled(pins):
    adc = MockMCP3008(11, 10, 9, 8)
    adc.channels[2] = 1.65
    d = make_driver(spec(driver="mcp3008", channel=2, quantity="soil", unit="%", scale=100 / 3.3))
    assert d.read()["soil"] == pytest.approx(50.0, abs=0.2)
    d.close()
    v = make_driver(spec(driver="mcp3008", channel=2))
    assert v.read()["voltage"] == pytest.approx(1.65, abs=0.01)
    v.close()
    adc.close()


def test_cpu_temperature(tmp_path, pins):
    f = tmp_path / "temp"
    f.write_text("48312\n")
    d = make_driver(spec(driver="cpu_temperature", sensor_file=str(f)))
    assert d.read() == {"temperature": pytest.approx(48.312)}
    f.write_text("150000\n")
    with pytest.raises(OutOfRangeError):
        d.read()
    missing = CPUTemperatureDriver(str(tmp_path / "nope"))
    with pytest.raises(BusError, match="CPU temperature"):
        missing.read()


def test_pin_in_use_is_a_bus_error(pins):
    a = make_driver(spec(driver="motion", pin=5))
    a.read()
    b = make_driver(spec(driver="door", pin=5))
    with pytest.raises(BusError, match="door contact on"):
        b.read()
    a.close()


def pulse(pin, high_s=0.003, low_first=False):
    """Drive ``pin`` high then low (low then high with ``low_first``) for ``high_s``;
    returns the (shortest, longest) possible time it was in the second state."""
    first, second = (
        (pin.drive_low, pin.drive_high) if low_first else (pin.drive_high, pin.drive_low)
    )
    t0 = time.monotonic()
    first()
    t1 = time.monotonic()
    time.sleep(high_s)
    t2 = time.monotonic()
    second()
    t3 = time.monotonic()
    return t2 - t1, t3 - t0


def test_motion_pulse_between_two_reads_is_recorded(pins):
    d = make_driver(spec(driver="motion", pin=17))
    assert d.read() == {"motion": 0.0}
    d.take_activity()
    pin = pins.pin(17)
    shortest, longest = pulse(pin)  # a few ms: a 1 s poll would never see it
    assert d.read() == {"motion": 0.0}
    act = d.take_activity()
    assert act.activations == 1 and [on for _, on in act.edges] == [True, False]
    assert shortest <= act.active_s <= longest
    assert d.take_activity() is None  # handed over once
    assert d.read() == {"motion": 0.0} and d.take_activity().activations == 0
    d.close()


def test_active_fraction_of_a_known_interval(pins):
    d = make_driver(spec(driver="motion", pin=18))
    d.read()
    pin = pins.pin(18)
    shortest, longest = pulse(pin, high_s=0.2)
    time.sleep(0.2)
    d.read()
    act = d.take_activity()
    span = act.end - act.start
    assert shortest <= act.active_s <= longest and act.activations == 1
    assert shortest / span - 0.01 <= act.fraction <= longest / span + 0.01
    assert 0.2 < act.fraction < 0.9  # ~0.5 on an idle machine
    pin.drive_high()  # on across the read: the next span starts on
    d.read()
    time.sleep(0.05)
    pin.drive_low()
    d.read()
    act = d.take_activity()
    assert act.on_at_start and act.activations == 0 and act.active_s > 0.04
    d.close()


def test_door_and_button_edges(pins):
    door = make_driver(spec(driver="door", pin=27))
    door.read()
    pin = pins.pin(27)
    pin.drive_low()  # shut
    door.read()
    door.take_activity()
    shortest, longest = pulse(pin)  # opened for a few ms (pulled-up input goes high)
    assert door.read() == {"door": 0.0}
    act = door.take_activity()
    assert act.activations == 1 and shortest <= act.active_s <= longest
    door.close()
    button = make_driver(spec(driver="button", pin=22))
    button.read()
    pulse(pins.pin(22), low_first=True)  # pressed (shorted to ground) and released
    button.read()
    assert button.take_activity().activations == 1
    button.close()


def test_callbacks_detached_on_close(pins):
    d = make_driver(spec(driver="motion", pin=17))
    d.read()
    d.take_activity()
    dev = d.device
    assert dev.when_activated is not None and dev.when_deactivated is not None
    d.close()
    assert dev.when_activated is None and dev.when_deactivated is None
    again = make_driver(spec(driver="motion", pin=17))  # the pin was released
    again.read()
    pulse(pins.pin(17))
    again.read()
    assert again.take_activity().activations == 1
    assert d.take_activity() is None and d._edges == []  # the closed driver heard nothing
    again.close()


def test_smoothed_motion_sensor_reports_edges_from_gpiozero_sampling(pins):
    d = make_driver(spec(driver="motion", pin=19, queue_len=2))
    assert type(d.device).__name__ == "MotionSensor"
    d.read()
    d.take_activity()
    pin = pins.pin(19)
    pin.drive_high()
    time.sleep(0.6)  # MotionSensor samples at 10 Hz: active after 2 high samples
    pin.drive_low()
    time.sleep(0.5)
    assert d.read() == {"motion": 0.0}
    act = d.take_activity()
    assert act.activations == 1 and 0.1 < act.active_s < 1.1
    d.close()

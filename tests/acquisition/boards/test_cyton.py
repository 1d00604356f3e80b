"""OpenBCI Cyton board: reply checks, channel commands, and the emulated board's behaviour."""

from __future__ import annotations

import numpy as np
import pytest

from twitchscope.acquisition.boards.cyton import (
    CYTON_DEFAULTS,
    CYTON_RESET,
    CYTON_START,
    CYTON_STOP,
    CytonEmulation,
    channel_settings_command,
    check_defaults_reply,
    check_version_reply,
    dongle_failure,
    emulate,
    version_reply_has_daisy,
)
from twitchscope.acquisition.boards.cyton_packets import CytonParser, encode, volts_per_count
from twitchscope.signal.core.errors import ConfigError, DeviceError

FAILURE = b"Failure: Communications timeout - Device failed to poll Host$$$"


def test_version_reply_validation_and_dongle_failure() -> None:
    ok = b"OpenBCI V3 8-16 channel\nOn Board ADS1299 Device ID: 0x3E\nLIS3DH Device ID: 0x33\nFirmware: v3.1.2\n$$$"
    assert "Firmware: v3.1.2" in check_version_reply(ok)
    assert not version_reply_has_daisy(ok)
    assert version_reply_has_daisy(
        ok.replace(b"LIS3DH", b"On Daisy ADS1299 Device ID: 0x3E\nLIS3DH")
    )
    with pytest.raises(
        DeviceError, match="Failure: Communications timeout - Device failed to poll Host'"
    ):
        check_version_reply(FAILURE)
    with pytest.raises(DeviceError, match="expected 'OpenBCI'"):
        check_version_reply(b"Hello$$$")
    with pytest.raises(DeviceError, match=r"ending in '\$\$\$'"):
        check_version_reply(ok[:-3])
    assert (
        dongle_failure(b"junk" + FAILURE)
        == "Failure: Communications timeout - Device failed to poll Host"
    )
    assert dongle_failure(b"Success: System is Up$$$") is None
    assert "default" in check_defaults_reply(b"updating channel settings to default$$$")
    with pytest.raises(DeviceError, match="Failure"):
        check_defaults_reply(FAILURE)


def test_channel_settings_command_and_gains() -> None:
    assert channel_settings_command(1, gain=24, srb2=False) == b"x1060100X"
    assert channel_settings_command(16, gain=1, power_on=False) == b"xI100110X"
    with pytest.raises(ConfigError, match="gain"):
        channel_settings_command(1, gain=3)
    with pytest.raises(ConfigError, match="one value per channel"):
        CytonParser(gains=[24] * 7)
    assert volts_per_count(24) == pytest.approx(0.0223517e-6, rel=1e-5)
    parser = CytonParser(gains=[1, 2, 4, 6, 8, 12, 24, 24])
    data = encode(parser.spec, np.full((8, 1), 1000.0) * parser.scale[:, None], gains=parser.gains)
    assert int.from_bytes(data[2:5], "big", signed=True) == 1000
    assert int.from_bytes(data[23:26], "big", signed=True) == 1000


def test_emulated_cyton_answers_the_handshake_as_the_firmware_does() -> None:
    board = emulate()
    assert board.power_up() == b"" and not board.streaming
    banner = board.on_bytes(CYTON_RESET)
    assert "Firmware" in check_version_reply(banner) and not version_reply_has_daisy(banner)
    assert "default" in check_defaults_reply(board.on_bytes(CYTON_DEFAULTS))
    assert board.on_bytes(channel_settings_command(3, gain=8)) == b"Success: Channel set for 3$$$"
    assert board.on_bytes(CYTON_START) == b"" and board.streaming
    assert board.on_bytes(CYTON_STOP) == b"" and not board.streaming
    assert board.reader_options() == {"daisy": False}


def test_emulated_cyton_with_the_board_off_fails_every_command() -> None:
    board = CytonEmulation(board_off=True)
    assert board.on_bytes(CYTON_RESET) == FAILURE
    assert board.on_bytes(CYTON_START) == FAILURE and not board.streaming
    with pytest.raises(DeviceError, match="is the board on and paired"):
        check_version_reply(board.on_bytes(CYTON_RESET))


def test_emulated_cyton_packets_parse_back_and_daisy_follows_the_channel_count() -> None:
    daisy = emulate(n_channels=16)
    assert daisy.daisy and daisy.n_channels == 16 and daisy.sfreq == 125.0
    assert version_reply_has_daisy(daisy.on_bytes(CYTON_RESET))
    block = np.outer(np.arange(1, 17), np.arange(1, 4)) * daisy.volts_per_count
    packets = daisy.encode(block, first_index=5)
    assert len(packets) == 3 and all(len(p) == 66 for p in packets)
    chunk, _ = daisy.parser.parse(b"".join(packets), daisy.parser.init_state())
    np.testing.assert_allclose(chunk.samples, block)
    assert daisy.corrupt(packets[0])[::33] == b"\x00\x00"
    with pytest.raises(ConfigError, match="8 or 16"):
        emulate(n_channels=4)

"""Open serial ports, list them with what they probably are, and never at 1200 baud.

A port is named by a path (``/dev/ttyUSB0``, ``/dev/serial/by-id/usb-FTDI_…``,
``COM3``, a pty such as ``/dev/pts/4``) or by a pyserial URL (``loop://``,
``socket://host:port``, ``spy:///dev/ttyUSB0?file=capture.txt`` for a hex dump of
the traffic). :func:`open_port` locks it (``exclusive=True``, POSIX ``flock``) and
asks for low latency where the driver supports it.

:func:`list_ports` tells what each USB serial port probably is from its VID:PID
(the table in the amplifier spec, Appendix A). The VID:PID only names the USB
bridge (an FTDI FT231X is also used by radios and sonars), so the protocol is
confirmed by :func:`probe`, which speaks each protocol's handshake (or, for
boards that take no commands, checks that the bytes frame) at the protocol's
baud rates, never at 1200.
"""

from __future__ import annotations

import errno
import logging
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import serial
import serial.tools.list_ports

from twitchscope.acquisition.boards.base import FORBIDDEN_BAUDRATE, KnownAdapter
from twitchscope.acquisition.boards.handshake import one_line
from twitchscope.acquisition.boards.registry import BOARD_ADAPTERS, BOARDS, PROBE_ORDER
from twitchscope.signal.core.errors import ConfigError, DeviceError

__all__ = [
    "KNOWN_ADAPTERS",
    "PortInfo",
    "ProbeResult",
    "probe",
    "identify_adapter",
    "find_port",
    "usb_identity",
    "is_url",
    "list_ports",
    "open_port",
    "stable_path",
]

log = logging.getLogger(__name__)

BY_ID_DIR = Path("/dev/serial/by-id")


_ARDUINO = ("chords", "spiker", "openeeg", "ascii")

#: USB bridges and boards that several protocols run on (the amplifier spec, Appendix A)
_SHARED_ADAPTERS: tuple[KnownAdapter, ...] = (
    KnownAdapter(
        0x0403, 0x6001, "FTDI FT232R: Arduino Nano (classic/clone) or Olimexino", _ARDUINO
    ),
    KnownAdapter(0x2341, 0x0043, "Arduino Uno R3", _ARDUINO),
    KnownAdapter(0x2341, 0x0243, "Arduino Uno R3", _ARDUINO),
    KnownAdapter(0x2341, 0x0042, "Arduino Mega 2560 R3", _ARDUINO),
    KnownAdapter(0x2341, 0x0069, "Arduino Uno R4 Minima", ("chords", "ascii")),
    KnownAdapter(0x2341, 0x1002, "Arduino Uno R4 WiFi", ("chords", "ascii")),
    KnownAdapter(0x2341, 0x0266, "Arduino GIGA R1", ("chords", "ascii")),
    KnownAdapter(0x2341, 0x003D, "Arduino Due (programming port)", ("chords", "ascii")),
    KnownAdapter(0x2341, None, "Arduino (other board)", _ARDUINO),
    KnownAdapter(0x2A03, None, "Arduino (arduino.org board)", _ARDUINO),
    KnownAdapter(0x1A86, 0x7523, "CH340 USB serial: Uno/Nano clone or Maker Uno", _ARDUINO),
    KnownAdapter(0x10C4, 0xEA60, "Silicon Labs CP210x USB serial", _ARDUINO),
    KnownAdapter(0x2E8A, 0x00C0, "Raspberry Pi RP2040 (arduino-pico)", ("chords", "ascii")),
    KnownAdapter(0x2E8A, 0x1000, "Maker Pi RP2040 (unverified id)", ("chords", "ascii")),
    KnownAdapter(0x0483, 0x5740, "STM32 USB CDC (STM32duino)", ("chords", "ascii")),
    KnownAdapter(0x303A, 0x1001, "ESP32-S3/C3 native USB (e.g. NPG-Lite)", ("chords", "ascii")),
)

#: VID:PID table of the amplifier spec (Appendix A): the adapters only one board uses
#: (from its module) and the shared ones. The first match wins, so exact VID:PID
#: entries come before vendor-wide ones.
KNOWN_ADAPTERS: tuple[KnownAdapter, ...] = tuple(
    sorted((*BOARD_ADAPTERS, *_SHARED_ADAPTERS), key=lambda a: a.pid is None)
)


def identify_adapter(vid: int | None, pid: int | None) -> KnownAdapter | None:
    """Return the table entry for a USB VID:PID, or None if unknown."""
    if vid is None:
        return None
    for entry in KNOWN_ADAPTERS:
        if entry.vid == vid and (entry.pid is None or entry.pid == pid):
            return entry
    return None


@dataclass(frozen=True, slots=True)
class PortInfo:
    """A serial port on this machine and what it probably is.

    Parameters
    ----------
    device : str
        Path to open (``/dev/ttyUSB0``, ``COM3``).
    by_id : str or None
        The stable ``/dev/serial/by-id/…`` link to it, if any (Linux).
    description : str
        The driver's description.
    vid, pid : int or None
        USB ids, None for a non-USB port.
    serial_number, manufacturer, product : str or None
        USB strings, when the device has them.
    guess : str
        What it probably is, from the VID:PID table ("" when unknown).
    protocols : tuple of str
        Protocols worth probing on it, most likely first (all of them if unknown).
    """

    device: str
    by_id: str | None
    description: str
    vid: int | None
    pid: int | None
    serial_number: str | None
    manufacturer: str | None
    product: str | None
    guess: str
    protocols: tuple[str, ...]

    @property
    def usb_id(self) -> str:
        """``VVVV:PPPP`` in hex, or ``""`` for a non-USB port."""
        if self.vid is None:
            return ""
        return f"{self.vid:04X}:{(self.pid or 0):04X}"

    @property
    def stable_path(self) -> str:
        """The path to reopen after an unplug: the by-id link when there is one."""
        return self.by_id or self.device


def _by_id_links() -> dict[str, str]:
    links: dict[str, str] = {}
    if BY_ID_DIR.is_dir():
        for link in sorted(BY_ID_DIR.iterdir()):
            links.setdefault(os.path.realpath(link), str(link))
    return links


def list_ports() -> list[PortInfo]:
    """List the serial ports pyserial finds, with what each one probably is.

    Ptys and URL ports are never listed (pyserial globs only real tty names); pass
    their path or URL explicitly.
    """
    links = _by_id_links()
    out = []
    for p in sorted(serial.tools.list_ports.comports(), key=lambda p: p.device):
        known = identify_adapter(p.vid, p.pid)
        if known is not None:
            guess, protocols = known.label, known.protocols
        else:
            guess = "" if p.vid is None else "unknown USB serial device"
            protocols = () if p.vid is None else tuple(BOARDS)
        out.append(
            PortInfo(
                device=p.device,
                by_id=links.get(os.path.realpath(p.device)),
                description=str(p.description or ""),
                vid=p.vid,
                pid=p.pid,
                serial_number=p.serial_number,
                manufacturer=p.manufacturer,
                product=p.product,
                guess=guess,
                protocols=protocols,
            )
        )
    return out


def usb_identity(port: str) -> tuple[str, int, int] | None:
    """``(serial_number, vid, pid)`` of the USB device behind ``port``, if it has a serial number."""
    if is_url(port):
        return None
    real = os.path.realpath(port)
    for p in serial.tools.list_ports.comports():
        if os.path.realpath(p.device) == real and p.serial_number and p.vid is not None:
            return str(p.serial_number), int(p.vid), int(p.pid or 0)
    return None


def find_port(serial_number: str, vid: int, pid: int) -> str | None:
    """The port whose USB device has this serial number and VID:PID, or None."""
    for p in serial.tools.list_ports.comports():
        if p.serial_number == serial_number and p.vid == vid and (p.pid or 0) == pid:
            return str(p.device)
    return None


def is_url(port: str) -> bool:
    """Whether ``port`` is a pyserial URL (``loop://``, ``socket://…``, ``spy://…``)."""
    return "://" in port


def stable_path(port: str) -> str:
    """The name to reopen ``port`` by after an unplug.

    A ``/dev/ttyUSB*`` or ``/dev/ttyACM*`` that has a ``/dev/serial/by-id`` link is
    replaced by the link (the kernel may hand out a new ``ttyUSB`` number on
    replug, the by-id name carries the serial number). Anything else, including a
    pty or a symlink the emulator re-points, is kept as given.
    """
    if is_url(port) or os.path.islink(port):
        return port
    return _by_id_links().get(os.path.realpath(port), port)


def open_port(
    port: str,
    *,
    baudrate: int,
    timeout: float | None = 1.0,
    exclusive: bool = True,
    low_latency: bool = True,
) -> serial.Serial:
    """Open a serial port by path or pyserial URL.

    Parameters
    ----------
    port : str
        Path (``/dev/ttyUSB0``, ``/dev/serial/by-id/…``, ``COM3``, a pty) or URL
        (``loop://``, ``socket://host:port``, ``spy:///dev/ttyUSB0?file=dump.txt``).
    baudrate : int
        Baud rate; 1200 is refused (it reboots native-USB boards).
    timeout : float or None
        Read timeout in seconds (None blocks).
    exclusive : bool
        Lock the port against other programs where the platform supports it.
    low_latency : bool
        Ask the driver for low latency (Linux ``ASYNC_LOW_LATENCY``) and report an
        FTDI ``latency_timer`` above 1 ms.

    Returns
    -------
    serial.Serial
        The open port (a pyserial ``Serial`` or URL handler instance).

    Raises
    ------
    DeviceError
        If the port cannot be opened (missing, busy, no permission).
    ConfigError
        If ``baudrate`` is 1200 or not positive.
    """
    baudrate = check_baudrate(baudrate)
    try:
        if is_url(port):
            ser = serial.serial_for_url(
                port, baudrate=baudrate, timeout=timeout, exclusive=exclusive, do_not_open=True
            )
        else:
            ser = serial.Serial(None, baudrate=baudrate, timeout=timeout, exclusive=exclusive)
            ser.port = port
        ser.open()
    except (serial.SerialException, OSError, ValueError) as exc:
        raise DeviceError(f"cannot open serial port {port!r}: {_why_not_open(exc)}") from None
    if low_latency:
        _ask_low_latency(ser, port)
    return ser


_BUSY = "the port is busy: another program (a GUI, a second twitchscope) has it open"
#: What to do about the usual reasons a port does not open, by errno.
_OPEN_HINTS = {
    errno.ENOENT: "no such port: is the board plugged in? `twitchscope ports` lists the ports",
    errno.ENXIO: "no device behind this port: is the board plugged in?",
    errno.EACCES: "permission denied: on Linux, add yourself to the 'dialout' group "
    "(sudo usermod -aG dialout $USER) and log in again",
    errno.EBUSY: _BUSY,
    errno.EAGAIN: _BUSY,  # pyserial's exclusive lock (flock) held by another program
}


def _why_not_open(exc: BaseException) -> str:
    """One line: the reason a port did not open, with what to do for the usual ones.

    pyserial wraps the OS error in its own message ("[Errno 2] could not open port X:
    [Errno 2] No such file or directory: 'X'"), which names the port twice.
    """
    code = getattr(exc, "errno", None)
    if code in _OPEN_HINTS:
        return _OPEN_HINTS[code]
    return one_line(exc)


def check_baudrate(baudrate: int) -> int:
    """Validate a baud rate: a positive whole number, never 1200."""
    if isinstance(baudrate, bool) or int(baudrate) != baudrate or int(baudrate) <= 0:
        raise ConfigError(f"baudrate must be a positive whole number, got {baudrate!r}.")
    if int(baudrate) == FORBIDDEN_BAUDRATE:
        raise ConfigError(
            "baudrate 1200 is never used: opening a native-USB board at 1200 baud reboots it "
            "into its bootloader; pick the board's streaming baud rate."
        )
    return int(baudrate)


def _ask_low_latency(ser: serial.Serial, port: str) -> None:
    setter = getattr(ser, "set_low_latency_mode", None)
    if setter is not None:
        try:
            setter(True)
            log.debug("%s: ASYNC_LOW_LATENCY set", port)
        except (ValueError, OSError) as exc:  # ptys and many USB drivers refuse it
            log.debug("%s: low-latency mode not supported (%s)", port, one_line(exc))
    _check_ftdi_latency_timer(port)


def _check_ftdi_latency_timer(port: str) -> None:
    """On Linux, try to set an FTDI adapter's latency timer to 1 ms, else say how.

    The FT231X of the Cyton dongle buffers up to 16 ms by default, so data arrive
    in bursts. Writing the sysfs file needs permission (a udev rule or root).
    """
    if is_url(port):
        return
    name = os.path.basename(os.path.realpath(port))
    knob = Path("/sys/bus/usb-serial/devices") / name / "latency_timer"
    try:
        value = int(knob.read_text().strip())
    except (OSError, ValueError):
        return
    if value <= 1:
        return
    try:
        knob.write_text("1")
        log.info("%s: FTDI latency_timer lowered from %d ms to 1 ms", port, value)
    except OSError:
        log.info(
            "%s: FTDI latency_timer is %d ms, so data arrive in bursts; to lower it run "
            "'echo 1 | sudo tee %s'",
            port,
            value,
            knob,
        )


@dataclass(frozen=True, slots=True)
class ProbeResult:
    """What answered on a port at one protocol and baud rate.

    Parameters
    ----------
    protocol : str
        Protocol tried.
    baudrate : int
        Baud rate tried.
    ok : bool
        Whether the device answered as that protocol does.
    detail : str
        The identification (e.g. ``UNO-R4``, the Cyton firmware line, ``HWT:MUSCLESS``,
        frame statistics) or why it did not match.
    """

    protocol: str
    baudrate: int
    ok: bool
    detail: str


def probe(
    port: str,
    *,
    protocols: Sequence[str] | None = None,
    listen_s: float = 1.0,
    reply_timeout_s: float = 1.5,
    stop_at_first: bool = True,
) -> list[ProbeResult]:
    """Find out which protocol a port speaks, by handshake at each protocol's baud rates.

    Parameters
    ----------
    port : str
        Path or URL of the port.
    protocols : sequence of str or None
        Protocols to try (default: all, passive ones first).
    listen_s : float
        How long to listen for a board that streams without being asked.
    reply_timeout_s : float
        How long to wait for the reply to a command.
    stop_at_first : bool
        Stop at the first protocol that answers.

    Returns
    -------
    list of ProbeResult
        Every attempt, in order; the matches have ``ok`` True.

    Notes
    -----
    Each protocol is tried by its board's ``probe`` (see each board module and
    :data:`~twitchscope.acquisition.boards.registry.PROBE_ORDER`): Cyton ``v``,
    Chords ``WHORU``, Spiker ``b:;`` or its frames; OpenEEG and ASCII are only
    listened to (at least 10 frames and 80 % of the bytes framed). 1200 baud is
    never used. A pseudo-terminal (or a ``loop://``/``socket://`` URL) ignores the
    baud rate, so there only each protocol's first rate is tried.
    """
    wanted = PROBE_ORDER if protocols is None else tuple(protocols)
    for name in wanted:
        if name not in BOARDS:
            raise ConfigError(
                f"unknown protocol {name!r} to probe; expected some of {', '.join(BOARDS)}."
            )
    results: list[ProbeResult] = []
    one_baud = _ignores_baud(port)
    for name in sorted(wanted, key=lambda n: PROBE_ORDER.index(n)):
        board = BOARDS[name]
        bauds = board.probe_baudrates
        for baud in bauds[:1] if one_baud else bauds:
            if baud == FORBIDDEN_BAUDRATE:  # pragma: no cover - the registry refuses it too
                continue
            try:
                ser = open_port(port, baudrate=baud, timeout=0.1, low_latency=False)
            except DeviceError as exc:
                results.append(ProbeResult(name, baud, False, str(exc)))
                return results  # the port itself is unusable: no point in going on
            try:
                ok, detail = board.probe(ser, listen_s, reply_timeout_s)
            except (DeviceError, serial.SerialException, OSError) as exc:
                ok, detail = False, one_line(exc)
            finally:
                ser.close()
            results.append(ProbeResult(name, baud, ok, detail))
            log.debug("probe %s: %s at %d baud: %s (%s)", port, name, baud, ok, detail)
            if ok:
                if stop_at_first:
                    return results
                break
    return results


def _ignores_baud(port: str) -> bool:
    """A pty or a network/loopback URL carries bytes at any baud: one rate is enough."""
    if is_url(port):
        return port.startswith(("loop://", "socket://", "rfc2217://"))
    return os.path.realpath(port).startswith("/dev/pts/")

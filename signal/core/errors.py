"""The one exception hierarchy of twitchscope.

Every error raised on purpose by the package derives from :class:`TwitchscopeError`,
and its message is a single line that names the problem and what was expected, so
the command line and the dashboard can show it as is, without a traceback.
"""

from __future__ import annotations

__all__ = [
    "TwitchscopeError",
    "ConfigError",
    "FileFormatError",
    "FrameError",
    "DeviceError",
]


class TwitchscopeError(Exception):
    """Base class for every error this package raises on purpose."""


class ConfigError(TwitchscopeError, ValueError):
    """A parameter is out of range or inconsistent with another one."""


class FileFormatError(TwitchscopeError, ValueError):
    """A recording or events file is missing, unreadable, or not what was expected."""


class FrameError(TwitchscopeError):
    """Bytes from a device could not be decoded into a frame."""


class DeviceError(TwitchscopeError, OSError):
    """A serial device failed, vanished, refused its handshake, or timed out."""

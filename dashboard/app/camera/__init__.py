"""Camera capture in the browser, saved with a live recording on the same clock."""

from twitchscope.dashboard.app.camera.panel import camera_panel

__all__ = ["camera_panel"]

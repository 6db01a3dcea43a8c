"""Before Qt opens a window on Linux: is there a display, and are the system libraries its xcb plugin needs there?

Without them Qt prints a page about platform plugins and aborts the process (exit 134). This says, in one
line, what is missing and how to get it. Only X11 is checked: with WAYLAND_DISPLAY set Qt may use Wayland,
and a platform chosen with QT_QPA_PLATFORM is the user's own business.
"""

from __future__ import annotations

import ctypes
import os
import sys
from collections.abc import Mapping

# The system libraries that Qt 6's xcb platform plugin (libqxcb.so, libQt6XcbQpa.so.6 and libQt6Gui.so.6) loads,
# with the Debian/Ubuntu package of each; the README's apt-get line lists the same packages.
XCB_LIBRARIES = {
    "libxcb.so.1": "libxcb1",
    "libxcb-cursor.so.0": "libxcb-cursor0",
    "libxcb-icccm.so.4": "libxcb-icccm4",
    "libxcb-image.so.0": "libxcb-image0",
    "libxcb-keysyms.so.1": "libxcb-keysyms1",
    "libxcb-randr.so.0": "libxcb-randr0",
    "libxcb-render.so.0": "libxcb-render0",
    "libxcb-render-util.so.0": "libxcb-render-util0",
    "libxcb-shape.so.0": "libxcb-shape0",
    "libxcb-shm.so.0": "libxcb-shm0",
    "libxcb-sync.so.1": "libxcb-sync1",
    "libxcb-util.so.1": "libxcb-util1",
    "libxcb-xfixes.so.0": "libxcb-xfixes0",
    "libxcb-xkb.so.1": "libxcb-xkb1",
    "libxkbcommon.so.0": "libxkbcommon0",
    "libxkbcommon-x11.so.0": "libxkbcommon-x11-0",
    "libX11.so.6": "libx11-6",
    "libX11-xcb.so.1": "libx11-xcb1",
    "libGL.so.1": "libgl1",
    "libEGL.so.1": "libegl1",
    "libfontconfig.so.1": "libfontconfig1",
    "libdbus-1.so.3": "libdbus-1-3",
    "libglib-2.0.so.0": "libglib2.0-0",
}
WITHOUT_A_WINDOW = "use --screenshot PATH to draw the window into a file, or set QT_QPA_PLATFORM=offscreen"


def can_load(library: str) -> bool:
    """Whether the dynamic linker finds `library`, as it will when Qt loads its plugin."""
    try:
        ctypes.CDLL(library)
    except OSError:
        return False
    return True


def missing_libraries() -> list[str]:
    return [name for name in XCB_LIBRARIES if not can_load(name)]


def x_server_answers(display: str) -> bool:
    """Whether an X server accepts a connection at `display` (what Qt's xcb plugin does first)."""
    try:
        xcb = ctypes.CDLL("libxcb.so.1")
    except OSError:
        return True  # missing_libraries() has named it
    xcb.xcb_connect.restype = ctypes.c_void_p
    xcb.xcb_connect.argtypes = [ctypes.c_char_p, ctypes.c_void_p]
    xcb.xcb_connection_has_error.argtypes = [ctypes.c_void_p]
    xcb.xcb_disconnect.argtypes = [ctypes.c_void_p]
    connection = xcb.xcb_connect(display.encode(errors="replace"), None)
    try:
        return xcb.xcb_connection_has_error(connection) == 0
    finally:
        xcb.xcb_disconnect(connection)


def display_problem(env: Mapping[str, str] | None = None, platform: str | None = None) -> str | None:
    """One line saying why Qt could not open a window here, or None when it should (or it is not ours to say)."""
    env = os.environ if env is None else env
    if (platform or sys.platform) != "linux" or env.get("QT_QPA_PLATFORM") or env.get("WAYLAND_DISPLAY"):
        return None
    display = env.get("DISPLAY", "")
    if not display:
        return ("There is no display to open the window on (neither DISPLAY nor WAYLAND_DISPLAY is set): start "
                f"Latent Explorer from a desktop session (or over ssh -X), or {WITHOUT_A_WINDOW}.")
    missing = missing_libraries()
    if missing:
        packages = " ".join(dict.fromkeys(XCB_LIBRARIES[name] for name in missing))
        return (f"Qt cannot open a window: the system {'library' if len(missing) == 1 else 'libraries'} "
                f"{', '.join(missing)} {'is' if len(missing) == 1 else 'are'} missing; on Debian or Ubuntu "
                f"install {'it' if len(missing) == 1 else 'them'} with: sudo apt-get install {packages}")
    if not x_server_answers(display):
        return (f"No X server answers at DISPLAY={display} (or it does not let this user in): start Latent "
                f"Explorer from a desktop session, or {WITHOUT_A_WINDOW}.")
    return None

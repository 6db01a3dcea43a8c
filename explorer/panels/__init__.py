"""One package per tab, thin: its controls become requests, its results become pixels.

TABS is the one list of the tabs, in the window's order: the window builds them from it, the command line's --tab
takes its names, and settings remember a tab by name. No Qt here (the command line's parser reads it).
"""

TABS = ("explore", "interpolate", "diffusion", "train", "compare")

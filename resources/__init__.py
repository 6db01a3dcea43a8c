"""The files the app ships (see README.md here); a package only so that they install with the app."""

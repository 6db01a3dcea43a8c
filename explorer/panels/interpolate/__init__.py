"""The Interpolate tab: morphs between two faces in every family."""

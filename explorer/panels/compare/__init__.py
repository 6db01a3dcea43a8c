"""The Compare tab: every family measured on the same faces, read out in plain words."""

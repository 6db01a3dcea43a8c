"""tests/toy_family.py as a plug-in: importing this registers the toy family (what LATENT_EXPLORER_FAMILIES does in
every process of the app, a training run's child process included)."""

from tests.toy_family import register

register()

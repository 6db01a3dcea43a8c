"""The inference worker: requests in, results out, one thread, latest request wins. The jobs it runs (inference,
comparison, latent map, catalogue) are plain functions of the model store; no QtWidgets.
"""

"""The Explore tab: sliders over a model's numbers, the latent map, a face brought in."""

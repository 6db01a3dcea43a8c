"""Reusable pieces of the window: pixels, sliders, plots, bars, pickers, texts that fold."""

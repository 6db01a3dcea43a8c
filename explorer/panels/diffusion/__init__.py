"""The Diffusion tab: x_t and the predicted x0 step by step, samplers, the forward process."""

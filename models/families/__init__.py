"""The built-in model families: one module each, holding its trainer and its `Family` description (registered on
import by models.family, which imports every module here)."""

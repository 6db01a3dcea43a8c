"""What an exported picture holds and how it is drawn, without Qt: PNG state, heat maps, slides."""

"""Situation reports (信访形势报送, 零隐报) of information officers."""

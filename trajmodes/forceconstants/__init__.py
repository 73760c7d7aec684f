"""Force constants: the model (layouts, sum rules, symmetry) and their fit to MD forces (TDEP)."""

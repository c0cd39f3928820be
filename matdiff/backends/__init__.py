"""Back ends: NumPy evaluation and the numerical check, products with a direction, code generation, SymPy."""

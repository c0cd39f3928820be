"""The expression core: immutable nodes, their canonical constructors, the function catalogue."""

"""Index notation and tensors (SPEC §6): subscripts, slices, index sums,
Kronecker's δ; the expression in indices (:mod:`.ricci`), its matrix form where
one exists (:mod:`.recover`), its derivative, and its evaluation by einsum."""

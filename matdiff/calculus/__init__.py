"""Calculus: the differential by the rule table, identification of gradients, Jacobians, Hessians."""

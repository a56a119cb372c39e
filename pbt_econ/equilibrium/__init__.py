"""Equilibrium checks and the solver: best response (type-level, unilateral, certificates), verdicts,
outcome rows, refinement and the deviation-aware solver loop.

Layer: imports everything below it (core, economies' protocol, config, learning); never a study or a command.
"""

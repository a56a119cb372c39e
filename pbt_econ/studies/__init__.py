"""Studies built on every layer below: the paper's claims and its reproduction (:mod:`.paper`), and
ground-truth validation, generic over every economy that declares a known answer (:mod:`.validation`).

Layer: may import ``pbt_econ.core``/``economies``/``config``/``learning``/``equilibrium``, ``populations``
and ``analysis``; never a command.
"""

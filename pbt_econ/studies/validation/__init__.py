"""Ground-truth validation: run the search on every economy that declares a known answer and compare
(:mod:`.compare`), then write the report and plots (:mod:`.report`). ``python -m pbt_econ.validate``.
"""

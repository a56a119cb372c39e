"""analysis: outcomes of a run directory -> distinct equilibria, Parquet, plots, report.

Reads only files (Parquet tables of a run directory); never imports
``populations``.
"""

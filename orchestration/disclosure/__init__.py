"""Statistical disclosure control of the ``reporting`` schema (SPEC 6).

- :mod:`.tables`: the published tables as a linked system of cells (counts, their margins, the
  identities between columns and tables, and what is computed from each count).
- :mod:`.feasibility`: feasible intervals of withheld cells by linear programming (HiGHS via scipy).
- :mod:`.protect`: secondary suppression driven by that audit, applied to ``reporting``, and the audit
  record ``audit.disclosure_audit``.
"""

"""One definition per input kind (ARCHITECTURE "contracts/"): columns, codes and types of what lands.

- :mod:`orchestration.contracts.dossier_extract`: the dossier extract (SPEC 3.4): ``dossiers.csv``,
  ``placements.csv``, ``practice_events.csv``.

The instrument model (SPEC 3.3) is defined in :mod:`orchestration.instruments`.
"""

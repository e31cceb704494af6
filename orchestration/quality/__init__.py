"""Quality gate: rules with codes, severities and the columns they read (SPEC 3, 7)."""

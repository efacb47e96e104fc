"""Who may do what on a shared server: ingest folders, roles, limits, the job queue and the audit trail.

Owns the checks a page runs before it acts for a visitor; the CLI (the local user) does not go through them.
May import: config, errors, types.
"""

"""Who may do what on a shared server: the folders the app may ingest from, (later) roles and the audit trail.

Owns the checks a page runs before it acts for a visitor; the CLI (the local user) does not go through them.
May import: config, errors, types.
"""

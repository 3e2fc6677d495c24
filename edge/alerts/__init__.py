"""Offline alert lists: signed lists of keyed hashes checked against every document record.

Errors (all under `edge.errors.EdgeError`):

EdgeError
└── AlertListError        an alert list or key cannot be used
    ├── ListRefused       a list file was refused (`code`: malformed, truncated, wrong_key,
    │                     bad_signature, expired_at_issue, older_version, version_conflict,
    │                     too_large); the list in force stays
    └── BuildError        headquarters' input cannot become a list (names the line, never
                          the value)
"""

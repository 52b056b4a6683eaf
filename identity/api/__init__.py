"""The administration REST API for sessions, signing keys and the access log, and how callers of
`/api/access/` (and of APIs behind the gate) authenticate."""

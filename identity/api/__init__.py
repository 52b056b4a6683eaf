"""The administration REST API for sessions, signing keys and the access log, and
`AccessAuthentication` for DRF views behind the gate."""

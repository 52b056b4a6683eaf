"""The administration REST API for applications, policies, groups, service tokens and identity
providers (the shared kit every `/api/access/` endpoint builds on is `common.api`)."""

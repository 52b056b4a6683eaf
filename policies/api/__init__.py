"""The administration REST API for applications, policies, groups, service tokens and identity
providers, and the plumbing every `/api/access/` endpoint shares (envelope, errors, pages,
permissions), so that `identity.api` builds on it without `policies` knowing about identity."""

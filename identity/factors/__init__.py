"""Second factors: authenticator apps (TOTP), passkeys and security keys (WebAuthn), recovery codes.

Factors belong to a person's email address, in lower case, the identity every sign-in proves
(a PIN and an OpenID Connect sign-in have no Django user; a password sign-in is its user's
`identity_email`). A factor is read, used, added or removed only for the address of the
verified session asking, so a factor enrolled by one identity is never used for another.

Pure core: `totp`, `recovery`, `stepup` (no ORM, no request). `webauthn` wraps the `webauthn`
library's ceremonies. `services` keeps the rows, spends the attempt budgets and records events.
"""

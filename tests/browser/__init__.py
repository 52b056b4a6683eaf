"""Browser suite: real Chromium against the project served over HTTPS on two sites."""

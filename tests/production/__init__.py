"""Production set-up: gunicorn, logs, and several processes over one database and cache."""

"""Getting the minutes out: files in DATA_DIR, e-mail over SMTP, a signed webhook, via an outbox."""

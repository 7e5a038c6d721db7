"""The welcome email: the guide PDF to each new subscriber over SMTP, exactly once."""

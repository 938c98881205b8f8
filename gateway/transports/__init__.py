"""Transports: how files reach a partner and come back (directory now; SFTP next)."""

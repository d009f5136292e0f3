"""Tag moderation in the admin (the issue "Moderation" fills it)."""

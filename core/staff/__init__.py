"""Staff who work through the bot: clinic receptionists (and, later, ward volunteers)."""

"""High availability: a standby gateway that follows the active one (issue 25)."""

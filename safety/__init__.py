"""Safety: prompt check (normalise, rules, learned classifier), provenance (C2PA), moderation."""

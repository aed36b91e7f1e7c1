"""From JSON text to a checked `Graph`: parse, schema, check, lower."""

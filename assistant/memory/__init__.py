"""What the assistant remembers: sessions, turns, feedback and hand-offs."""

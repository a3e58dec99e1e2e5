"""Writing the answer: the generator seam, the extractive composer, follow-ups, and the
assistant's own wording."""

"""Cocon: a French-first anonymous web chat, safe by design."""

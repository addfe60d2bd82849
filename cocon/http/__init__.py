"""HTTP: pages, the entry API, health. Thin handlers over ``actions``."""

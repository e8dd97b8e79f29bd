"""Inline keyboards: pure functions (data in, markup out); labels come from the locales."""

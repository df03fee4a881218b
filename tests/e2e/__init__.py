"""End-to-end tests: the real bot.py in a subprocess, driven over a real OneBot v11 WebSocket."""

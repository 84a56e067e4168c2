"""Tidemark gateway: dashboards JSON API, web UI and live updates."""

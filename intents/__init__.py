"""MIM Sync troubleshooting knowledge: content model, matcher and cards, free of any bot SDK."""

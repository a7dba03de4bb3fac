"""The Bot Framework edge: settings, aiohttp app, adapter and activity handling."""

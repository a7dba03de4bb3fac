"""Persistent state behind one small async interface, with SQLite and Azure Table backends."""

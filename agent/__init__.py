"""greffier: live captions and minutes for LiveKit rooms."""

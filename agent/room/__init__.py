"""Everything that happens inside one LiveKit room: dispatch, participants, captions out."""

"""Business logic that writes: uploads, indexing, embedding spaces. Views and tasks call these."""

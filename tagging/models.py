"""Analysis results, faces and people (filled by the issues "Pipeline" and "Faces")."""

"""Reading exports and turning them into training items and leakage-free splits."""

"""What several pages use: ids of the app shell, widgets, palette and base figure layout,
the session's customer table and segmentation, the customer grid, URL state."""

"""The sandbox's data: organizations, their apps and tokens, and custom metrics."""

"""The console's views, one module per concept. Views are HTTP glue: bind, call, render."""

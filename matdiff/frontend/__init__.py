"""The front end: text → raw syntax tree → types and dimensions → expression tree."""

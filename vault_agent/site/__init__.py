"""The static site: MkDocs-material pages generated from the vault (docs/site.md)."""

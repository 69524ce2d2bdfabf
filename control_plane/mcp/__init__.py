"""The MCP face of devplat: curated, read-only tools for AI agents at /mcp/, on the official `mcp` SDK."""

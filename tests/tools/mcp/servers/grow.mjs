// A Node MCP server (the official TypeScript SDK, stdio, 2025-11-25 handshake) whose
// tool list changes at runtime: "grow" registers a new tool, and the SDK sends
// notifications/tools/list_changed to the client.
import { McpServer } from "@modelcontextprotocol/sdk/server/mcp.js";
import { StdioServerTransport } from "@modelcontextprotocol/sdk/server/stdio.js";
import { z } from "zod";

const server = new McpServer({ name: "grow", version: "1.0.0" });

server.registerTool(
  "grow",
  {
    description: "Register a new tool with the given name",
    inputSchema: { name: z.string() },
    annotations: { readOnlyHint: false },
  },
  async ({ name }) => {
    server.registerTool(name, { description: `A tool added at runtime: ${name}` }, async () => ({
      content: [{ type: "text", text: `I am ${name}` }],
    }));
    return { content: [{ type: "text", text: `added ${name}` }] };
  },
);

await server.connect(new StdioServerTransport());

// Parse a Mermaid diagram with the real mermaid parser: `node mermaid_parse.mjs FILE`.
// Prints {"ok": true, "type": ...} or {"ok": false, "error": ...} (and exits 1).
// mermaid and jsdom are resolved from the node_modules beside this file (the test links it).
import { JSDOM } from "jsdom";
import { readFileSync } from "node:fs";

const dom = new JSDOM("<!DOCTYPE html><body></body>");
globalThis.window = dom.window;
globalThis.document = dom.window.document;
const { default: mermaid } = await import("mermaid");
try {
  const result = await mermaid.parse(readFileSync(process.argv[2], "utf8"));
  console.log(JSON.stringify({ ok: true, type: result.diagramType }));
} catch (error) {
  console.log(JSON.stringify({ ok: false, error: String(error?.message ?? error) }));
  process.exit(1);
}

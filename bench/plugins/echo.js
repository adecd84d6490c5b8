// The benchmark's echo action in JavaScript (componentize-js): parse the
// input and serialise it back, as the Rust and Python echoes do.

const SCHEMA = JSON.stringify({
  type: "object",
  properties: {
    message: { type: "string" },
    count: { type: "integer", minimum: 0 },
    tags: { type: "array", items: { type: "string" } },
  },
  required: ["message", "count", "tags"],
});

export function describe() {
  return {
    name: "echo-js",
    version: "0.1.0",
    sdkVersion: "componentize-js",
    actions: [
      {
        name: "echo",
        description: "Echo a small object back.",
        inputSchema: SCHEMA,
        outputSchema: SCHEMA,
      },
    ],
  };
}

export function execute(action, input, context) {
  return { data: JSON.stringify(JSON.parse(input)), metadata: [] };
}

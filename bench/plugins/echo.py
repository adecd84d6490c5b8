"""The benchmark's echo action in Python (componentize-py): parse the input
and serialise it back, as the Rust and JavaScript echoes do."""

import json

import wit_world
from wit_world.imports import types

SCHEMA = json.dumps(
    {
        "type": "object",
        "properties": {
            "message": {"type": "string"},
            "count": {"type": "integer", "minimum": 0},
            "tags": {"type": "array", "items": {"type": "string"}},
        },
        "required": ["message", "count", "tags"],
    }
)


class WitWorld(wit_world.WitWorld):
    def describe(self) -> types.IntegrationInfo:
        return types.IntegrationInfo(
            name="echo-py",
            version="0.1.0",
            sdk_version="componentize-py",
            actions=[
                types.ActionSpec(
                    name="echo",
                    description="Echo a small object back.",
                    input_schema=SCHEMA,
                    output_schema=SCHEMA,
                )
            ],
        )

    def execute(
        self, action: str, input: str, context: types.ExecutionContext
    ) -> types.ActionResult:
        value = json.loads(input)
        return types.ActionResult(data=json.dumps(value), metadata=[])

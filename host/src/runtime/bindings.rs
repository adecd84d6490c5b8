//! Host bindings of the `workway:plugin@0.1.0` world, generated from `wit/`.
#![allow(missing_docs)]

wasmtime::component::bindgen!({
    path: "../wit/since_v0.1.0",
    world: "integration",
    imports: {
        "workway:plugin/http.send": async | trappable,
        default: trappable,
    },
    exports: { default: async },
    with: {
        "workway:plugin/connections.connection": crate::runtime::state::ConnectionHandle,
    },
});

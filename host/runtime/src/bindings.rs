//! Host bindings of the `workway:plugin@0.1.0` world, generated from `wit/`.
#![allow(missing_docs)]

wasmtime::component::bindgen!({
    path: "../../wit/since_v0.1.0",
    world: "integration",
    imports: {
        "workway:plugin/http.send": async | trappable,
        default: trappable,
    },
    exports: { default: async },
    with: {
        "workway:plugin/connections.connection": crate::state::ConnectionHandle,
    },
});

impl<T: Send + 'static> IntegrationPre<T> {
    /// [`IntegrationPre::instantiate_async`] without type-checking the
    /// exports again on every instance.
    ///
    /// [`IntegrationPre::new`] already type-checked `describe` and `execute`
    /// against this component's type, and every instance made from this
    /// `InstancePre` has that type, so looking the functions up by their
    /// pre-computed indices is enough. The generated `load` repeats the
    /// check per instance: a few percent of an isolated execution spent
    /// proving again what cannot have changed.
    pub async fn instantiate_checked_once(
        &self,
        mut store: impl wasmtime::AsContextMut<Data = T>,
    ) -> wasmtime::Result<Integration> {
        let mut store = store.as_context_mut();
        let instance = self.instance_pre.instantiate_async(&mut store).await?;
        let mut export = |index, name| {
            instance
                .get_func(&mut store, index)
                .ok_or_else(|| wasmtime::format_err!("the instance has no function `{name}`"))
        };
        Ok(Integration {
            describe: export(&self.indices.describe, "describe")?,
            execute: export(&self.indices.execute, "execute")?,
        })
    }
}

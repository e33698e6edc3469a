//! Host-side bindings of the `platform:function` WIT world.

wasmtime::component::bindgen!({
    world: "composition-module",
    path: "../wit",
});

pub use platform::function::types as wit;

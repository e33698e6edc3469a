//! Host-side bindings of the `platform:function` WIT world.

wasmtime::component::bindgen!({
    world: "composition-module",
    path: "../wit",
});

pub use exports::platform::function::composition as wit;

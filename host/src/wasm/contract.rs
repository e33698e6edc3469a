//! The WIT contract between host and modules: the versions of the
//! `platform:function` package this host serves, and the check that a
//! module was built for one of them. While the package is 0.x every
//! version is its own contract: a module is rebuilt with the SDK of the
//! release that serves it.

use std::collections::BTreeSet;
use std::fmt;

use wasmtime::Engine;
use wasmtime::component::Component;

pub(crate) const PACKAGE: &str = "platform:function";

/// The versions of [`PACKAGE`] this host serves.
pub(crate) const SERVED: &[&str] = &["0.4.0"];

/// A module built for a contract version this host does not serve.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ContractMismatch {
    pub(crate) built_for: String,
    pub(crate) served: Vec<String>,
}

impl fmt::Display for ContractMismatch {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let served: Vec<String> = self
            .served
            .iter()
            .map(|v| format!("{PACKAGE}@{v}"))
            .collect();
        write!(
            f,
            "is built for {PACKAGE}@{}, and this host serves {}; rebuild it with the module SDK of this release",
            self.built_for,
            served.join(", ")
        )
    }
}

impl std::error::Error for ContractMismatch {}

/// The contract versions `component` names: the interfaces of [`PACKAGE`]
/// it exports (`platform:function/composition@X` from 0.3.0 on) or imports
/// (`platform:function/log@X` before).
pub(crate) fn versions(component: &Component, engine: &Engine) -> BTreeSet<String> {
    let ty = component.component_type();
    let imports = ty.imports(engine).map(|(name, _)| name);
    let exports = ty.exports(engine).map(|(name, _)| name);
    imports
        .chain(exports)
        .filter_map(|name| {
            let interface = name.strip_prefix(PACKAGE)?.strip_prefix('/')?;
            Some(interface.split_once('@').map_or("", |(_, v)| v).to_string())
        })
        .collect()
}

/// Refuses a component that names a contract version not served.
pub(crate) fn check(component: &Component, engine: &Engine) -> Result<(), ContractMismatch> {
    match versions(component, engine)
        .into_iter()
        .find(|v| !SERVED.contains(&v.as_str()))
    {
        Some(built_for) => Err(ContractMismatch {
            built_for,
            served: SERVED.iter().map(|v| v.to_string()).collect(),
        }),
        None => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn component(wat: &str) -> (Engine, Component) {
        let engine = Engine::default();
        let component = Component::new(&engine, wat).unwrap();
        (engine, component)
    }

    #[test]
    fn a_module_for_the_old_contract_is_refused_naming_both_versions() {
        // What a module built for 0.2.0 imports: its log and types interfaces.
        let (engine, old) = component(
            r#"(component
                (import "platform:function/types@0.2.0" (instance))
                (import "platform:function/log@0.2.0" (instance)))"#,
        );
        let mismatch = check(&old, &engine).unwrap_err();
        assert_eq!(mismatch.built_for, "0.2.0");
        assert_eq!(mismatch.served, ["0.4.0"]);
        let message = mismatch.to_string();
        assert!(message.contains("platform:function@0.2.0"), "{message}");
        assert!(message.contains("platform:function@0.4.0"), "{message}");

        // A module built for 0.3.0 (objects as JSON text) is refused too.
        let (engine, json_text) = component(
            r#"(component
                (instance $composition)
                (export "platform:function/composition@0.3.0" (instance $composition)))"#,
        );
        assert_eq!(check(&json_text, &engine).unwrap_err().built_for, "0.3.0");

        // What a module built for 0.4.0 exports, and nothing of the package
        // it imports.
        let (engine, current) = component(
            r#"(component
                (instance $composition)
                (export "platform:function/composition@0.4.0" (instance $composition)))"#,
        );
        assert_eq!(
            versions(&current, &engine),
            BTreeSet::from(["0.4.0".into()])
        );
        check(&current, &engine).unwrap();
    }
}

//! The routing table: which loaded module answers a step's `module` input
//! for a composite's `cloud` label.

use crate::source::Source;
use std::collections::BTreeMap;
use std::fmt;
use std::sync::Arc;

use crate::runtime::{LoadedModule, ModuleInfo};

/// What the table needs to know of a module.
pub trait Routable {
    fn info(&self) -> &ModuleInfo;
    /// `name@version (sha256:…)`, for messages.
    fn label(&self) -> String;
    fn source(&self) -> &Source;
}

impl Routable for LoadedModule {
    fn info(&self) -> &ModuleInfo {
        &self.info
    }
    fn label(&self) -> String {
        LoadedModule::label(self)
    }
    fn source(&self) -> &Source {
        &self.source
    }
}

/// A route key: the Input's `module` and a cloud (`None`: every cloud).
type Key = (String, Option<String>);

#[derive(Debug)]
pub struct Registry<M = LoadedModule> {
    routes: BTreeMap<Key, Arc<M>>,
}

impl<M> Default for Registry<M> {
    fn default() -> Self {
        Self {
            routes: BTreeMap::new(),
        }
    }
}

/// Why no module answers a request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RouteError {
    UnknownModule {
        module: String,
        loaded: String,
    },
    UnservedCloud {
        module: String,
        cloud: Option<String>,
        loaded: String,
    },
}

impl fmt::Display for RouteError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RouteError::UnknownModule { module, loaded } => write!(
                f,
                "no loaded module serves input module {module:?}; set the step's input.module to one of the loaded modules: {loaded}"
            ),
            RouteError::UnservedCloud {
                module,
                cloud: Some(cloud),
                loaded,
            } => write!(
                f,
                "no loaded module serves module {module:?} for cloud {cloud:?} (the composite's metadata.labels.cloud); loaded: {loaded}"
            ),
            RouteError::UnservedCloud {
                module,
                cloud: None,
                loaded,
            } => write!(
                f,
                "the composite has no metadata.labels.cloud and no loaded module serves module {module:?} for every cloud; set the cloud label; loaded: {loaded}"
            ),
        }
    }
}

impl<M: Routable> Registry<M> {
    /// Builds the table; two modules claiming the same (module, cloud) is an
    /// error naming both.
    pub fn new(modules: Vec<Arc<M>>) -> anyhow::Result<Self> {
        let mut routes: BTreeMap<Key, Arc<M>> = BTreeMap::new();
        for module in modules {
            let clouds: Vec<Option<String>> = if module.info().clouds.is_empty() {
                vec![None]
            } else {
                module.info().clouds.iter().cloned().map(Some).collect()
            };
            for name in &module.info().modules {
                for cloud in &clouds {
                    let key = (name.clone(), cloud.clone());
                    if let Some(other) = routes.get(&key) {
                        anyhow::bail!(
                            "{} ({}) and {} ({}) both serve module {name:?} for {}; remove one of them",
                            module.label(),
                            module.source(),
                            other.label(),
                            other.source(),
                            cloud
                                .as_deref()
                                .map_or("every cloud".to_string(), |c| format!("cloud {c:?}")),
                        );
                    }
                    routes.insert(key, module.clone());
                }
            }
        }
        Ok(Self { routes })
    }

    /// The module for `module` and `cloud`: one that names the cloud beats
    /// one that serves every cloud.
    pub fn route(&self, module: &str, cloud: Option<&str>) -> Result<Arc<M>, RouteError> {
        let specific =
            cloud.and_then(|c| self.routes.get(&(module.to_string(), Some(c.to_string()))));
        if let Some(found) = specific.or_else(|| self.routes.get(&(module.to_string(), None))) {
            return Ok(found.clone());
        }
        let loaded = self.describe();
        if self.routes.keys().any(|(m, _)| m == module) {
            Err(RouteError::UnservedCloud {
                module: module.to_string(),
                cloud: cloud.map(str::to_string),
                loaded,
            })
        } else {
            Err(RouteError::UnknownModule {
                module: module.to_string(),
                loaded,
            })
        }
    }

    /// The distinct loaded modules.
    pub fn modules(&self) -> Vec<Arc<M>> {
        let mut seen: Vec<Arc<M>> = Vec::new();
        for m in self.routes.values() {
            if !seen.iter().any(|s| Arc::ptr_eq(s, m)) {
                seen.push(m.clone());
            }
        }
        seen
    }

    /// `cluster (cloud gcp) by name@1.0 (sha256:..), ...` or `none`.
    pub fn describe(&self) -> String {
        if self.routes.is_empty() {
            return "none".to_string();
        }
        self.routes
            .iter()
            .map(|((module, cloud), m)| {
                let cloud = cloud
                    .as_deref()
                    .map_or("every cloud".to_string(), |c| format!("cloud {c}"));
                format!("{module} ({cloud}) by {}", m.label())
            })
            .collect::<Vec<_>>()
            .join(", ")
    }
}

#[cfg(test)]
mod tests {
    use std::path::PathBuf;

    use super::*;

    #[derive(Debug)]
    struct Fake {
        info: ModuleInfo,
        source: Source,
    }

    impl Routable for Fake {
        fn info(&self) -> &ModuleInfo {
            &self.info
        }
        fn label(&self) -> String {
            format!("{}@{}", self.info.name, self.info.version)
        }
        fn source(&self) -> &Source {
            &self.source
        }
    }

    fn fake(name: &str, modules: &[&str], clouds: &[&str]) -> Arc<Fake> {
        Arc::new(Fake {
            info: ModuleInfo {
                name: name.into(),
                version: "1.0.0".into(),
                modules: modules.iter().map(|s| s.to_string()).collect(),
                clouds: clouds.iter().map(|s| s.to_string()).collect(),
            },
            source: Source::File(PathBuf::from(format!("{name}.wasm"))),
        })
    }

    #[test]
    fn a_module_for_a_specific_cloud_beats_one_for_every_cloud() {
        let registry = Registry::new(vec![
            fake("general", &["cluster"], &[]),
            fake("aws-only", &["cluster"], &["aws"]),
        ])
        .unwrap();
        assert_eq!(
            registry.route("cluster", Some("aws")).unwrap().info.name,
            "aws-only"
        );
        assert_eq!(
            registry.route("cluster", Some("gcp")).unwrap().info.name,
            "general"
        );
        assert_eq!(
            registry.route("cluster", None).unwrap().info.name,
            "general"
        );
    }

    #[test]
    fn routes_by_module_and_cloud() {
        let registry = Registry::new(vec![
            fake("gcp", &["cluster"], &["gcp"]),
            fake("azure", &["cluster", "database"], &["azure"]),
        ])
        .unwrap();
        assert_eq!(
            registry.route("cluster", Some("gcp")).unwrap().info.name,
            "gcp"
        );
        assert_eq!(
            registry.route("database", Some("azure")).unwrap().info.name,
            "azure"
        );
        assert_eq!(registry.modules().len(), 2);
    }

    #[test]
    fn two_modules_claiming_the_same_key_is_an_error_naming_both() {
        let err = Registry::new(vec![
            fake("first", &["cluster"], &["aws"]),
            fake("second", &["cluster"], &["aws", "gcp"]),
        ])
        .unwrap_err()
        .to_string();
        assert!(err.contains("first@1.0.0"), "{err}");
        assert!(err.contains("second@1.0.0"), "{err}");
        assert!(err.contains("cloud \"aws\""), "{err}");
    }

    #[test]
    fn an_unknown_module_lists_what_is_loaded() {
        let registry = Registry::new(vec![fake("general", &["cluster"], &[])]).unwrap();
        let err = registry.route("database", Some("gcp")).unwrap_err();
        assert!(matches!(err, RouteError::UnknownModule { .. }));
        let message = err.to_string();
        assert!(message.contains("\"database\""), "{message}");
        assert!(
            message.contains("cluster (every cloud) by general@1.0.0"),
            "{message}"
        );
    }

    #[test]
    fn an_unserved_cloud_names_the_label_and_lists_what_is_loaded() {
        let registry = Registry::new(vec![fake("gcp", &["cluster"], &["gcp"])]).unwrap();
        let message = registry
            .route("cluster", Some("oracle"))
            .unwrap_err()
            .to_string();
        assert!(message.contains("cloud \"oracle\""), "{message}");
        assert!(message.contains("metadata.labels.cloud"), "{message}");
        assert!(
            message.contains("cluster (cloud gcp) by gcp@1.0.0"),
            "{message}"
        );
        let message = registry.route("cluster", None).unwrap_err().to_string();
        assert!(message.contains("no metadata.labels.cloud"), "{message}");
    }
}

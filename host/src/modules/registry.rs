//! The routing table: which loaded module answers a request, by the routes
//! modules declare. A route names the step Input's `module` value and
//! labels the composite must carry; the host matches them without knowing
//! what any label means, and the route with the most labels wins.

use std::collections::BTreeMap;
use std::fmt;
use std::sync::Arc;

use crate::modules::source::Source;
use crate::wasm::runtime::{LoadedModule, ModuleInfo};

/// Requests whose step Input names `module` and whose composite carries
/// every one of `labels`.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Route {
    pub(crate) module: String,
    pub(crate) labels: BTreeMap<String, String>,
}

impl Route {
    fn matches(&self, module: &str, labels: &BTreeMap<String, String>) -> bool {
        self.module == module && self.labels.iter().all(|(k, v)| labels.get(k) == Some(v))
    }
}

impl fmt::Display for Route {
    /// `cluster` or `cluster [cloud=gcp, tier=gold]`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.module)?;
        if !self.labels.is_empty() {
            write!(f, " [{}]", pairs(&self.labels))?;
        }
        Ok(())
    }
}

fn pairs(labels: &BTreeMap<String, String>) -> String {
    labels
        .iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect::<Vec<_>>()
        .join(", ")
}

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

/// Two modules declaring the same route.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct RouteConflict {
    pub(crate) route: Route,
    /// Each module's label and source.
    pub(crate) first: (String, String),
    pub(crate) second: (String, String),
}

impl fmt::Display for RouteConflict {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} ({}) and {} ({}) both serve {}; remove one of them",
            self.second.0, self.second.1, self.first.0, self.first.1, self.route
        )
    }
}

impl std::error::Error for RouteConflict {}

/// Why no module answers a request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RouteError {
    /// No loaded module declares a route for the Input's `module`.
    UnknownModule { module: String, loaded: String },
    /// Modules serve `module`, but each needs a label the composite lacks.
    NoMatch {
        module: String,
        labels: BTreeMap<String, String>,
        routes: String,
    },
    /// Two routes with as many labels both match.
    Ambiguous {
        module: String,
        labels: BTreeMap<String, String>,
        matches: Vec<String>,
    },
}

impl fmt::Display for RouteError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RouteError::UnknownModule { module, loaded } => write!(
                f,
                "no loaded module serves input module {module:?}; set the step's input.module to one of the loaded modules: {loaded}"
            ),
            RouteError::NoMatch {
                module,
                labels,
                routes,
            } => write!(
                f,
                "no loaded module serves module {module:?} for a composite labelled [{}]; set the composite's metadata.labels to match one of: {routes}",
                pairs(labels)
            ),
            RouteError::Ambiguous {
                module,
                labels,
                matches,
            } => write!(
                f,
                "module {module:?} for a composite labelled [{}] matches equally specific routes: {}; remove one module or make one route name more labels",
                pairs(labels),
                matches.join(" and ")
            ),
        }
    }
}

impl std::error::Error for RouteError {}

#[derive(Debug)]
pub struct Registry<M = LoadedModule> {
    routes: BTreeMap<Route, Arc<M>>,
}

impl<M> Default for Registry<M> {
    fn default() -> Self {
        Self {
            routes: BTreeMap::new(),
        }
    }
}

impl<M: Routable> Registry<M> {
    /// Builds the table; two modules declaring the same route is an error
    /// naming both.
    pub(crate) fn new(modules: Vec<Arc<M>>) -> Result<Self, Box<RouteConflict>> {
        let mut routes: BTreeMap<Route, Arc<M>> = BTreeMap::new();
        for module in modules {
            for route in &module.info().routes {
                if let Some(other) = routes.get(route) {
                    return Err(Box::new(RouteConflict {
                        route: route.clone(),
                        first: (other.label(), other.source().to_string()),
                        second: (module.label(), module.source().to_string()),
                    }));
                }
                routes.insert(route.clone(), module.clone());
            }
        }
        Ok(Self { routes })
    }

    /// The module for the Input's `module` and the composite's `labels`:
    /// of the routes that match, the one with the most labels.
    pub fn route(
        &self,
        module: &str,
        labels: &BTreeMap<String, String>,
    ) -> Result<Arc<M>, RouteError> {
        let matching: Vec<(&Route, &Arc<M>)> = self
            .routes
            .iter()
            .filter(|(route, _)| route.matches(module, labels))
            .collect();
        let most = matching.iter().map(|(r, _)| r.labels.len()).max();
        let best: Vec<_> = matching
            .into_iter()
            .filter(|(r, _)| Some(r.labels.len()) == most)
            .collect();
        match best.as_slice() {
            [(_, found)] => Ok((*found).clone()),
            [] if self.routes.keys().any(|r| r.module == module) => Err(RouteError::NoMatch {
                module: module.to_string(),
                labels: labels.clone(),
                routes: self.describe_where(|r| r.module == module),
            }),
            [] => Err(RouteError::UnknownModule {
                module: module.to_string(),
                loaded: self.describe(),
            }),
            several => Err(RouteError::Ambiguous {
                module: module.to_string(),
                labels: labels.clone(),
                matches: several
                    .iter()
                    .map(|(r, m)| format!("{r} by {}", m.label()))
                    .collect(),
            }),
        }
    }

    /// The distinct loaded modules.
    pub(crate) fn modules(&self) -> Vec<Arc<M>> {
        let mut seen: Vec<Arc<M>> = Vec::new();
        for m in self.routes.values() {
            if !seen.iter().any(|s| Arc::ptr_eq(s, m)) {
                seen.push(m.clone());
            }
        }
        seen
    }

    /// `cluster [cloud=gcp] by name@1.0 (sha256:..), ...` or `none`.
    pub(crate) fn describe(&self) -> String {
        self.describe_where(|_| true)
    }

    fn describe_where(&self, keep: impl Fn(&Route) -> bool) -> String {
        let listed: Vec<String> = self
            .routes
            .iter()
            .filter(|(route, _)| keep(route))
            .map(|(route, m)| format!("{route} by {}", m.label()))
            .collect();
        if listed.is_empty() {
            "none".to_string()
        } else {
            listed.join(", ")
        }
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

    fn labels(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    /// A module serving each of `routes`: (Input module, labels).
    fn fake(name: &str, routes: &[(&str, &[(&str, &str)])]) -> Arc<Fake> {
        Arc::new(Fake {
            info: ModuleInfo {
                name: name.into(),
                version: "1.0.0".into(),
                routes: routes
                    .iter()
                    .map(|(module, pairs)| Route {
                        module: module.to_string(),
                        labels: labels(pairs),
                    })
                    .collect(),
            },
            source: Source::File(PathBuf::from(format!("{name}.wasm"))),
        })
    }

    #[test]
    fn the_route_with_the_most_matching_labels_wins() {
        let registry = Registry::new(vec![
            fake("general", &[("cluster", &[])]),
            fake("one-label", &[("cluster", &[("cloud", "aws")])]),
            fake(
                "two-labels",
                &[("cluster", &[("cloud", "aws"), ("tier", "gold")])],
            ),
        ])
        .unwrap();
        let route = |pairs: &[(&str, &str)]| {
            registry
                .route("cluster", &labels(pairs))
                .unwrap()
                .info
                .name
                .clone()
        };
        assert_eq!(route(&[("cloud", "aws"), ("tier", "gold")]), "two-labels");
        assert_eq!(route(&[("cloud", "aws"), ("tier", "iron")]), "one-label");
        assert_eq!(route(&[("cloud", "gcp")]), "general");
        assert_eq!(route(&[]), "general");
    }

    #[test]
    fn a_module_serves_every_route_it_declares() {
        let registry = Registry::new(vec![
            fake("a", &[("cluster", &[("cloud", "gcp")])]),
            fake(
                "b",
                &[("cluster", &[("cloud", "azure")]), ("database", &[])],
            ),
        ])
        .unwrap();
        let on = |module: &str, pairs: &[(&str, &str)]| {
            registry
                .route(module, &labels(pairs))
                .unwrap()
                .info
                .name
                .clone()
        };
        assert_eq!(on("cluster", &[("cloud", "gcp")]), "a");
        assert_eq!(on("database", &[("cloud", "gcp")]), "b");
        assert_eq!(registry.modules().len(), 2);
    }

    #[test]
    fn two_modules_declaring_the_same_route_is_a_conflict_naming_both() {
        let conflict = Registry::new(vec![
            fake("first", &[("cluster", &[("cloud", "aws")])]),
            fake(
                "second",
                &[
                    ("cluster", &[("cloud", "gcp")]),
                    ("cluster", &[("cloud", "aws")]),
                ],
            ),
        ])
        .unwrap_err();
        assert_eq!(conflict.route.module, "cluster");
        assert_eq!(conflict.route.labels, labels(&[("cloud", "aws")]));
        assert_eq!(conflict.first.0, "first@1.0.0");
        assert_eq!(
            conflict.second,
            ("second@1.0.0".into(), "second.wasm".into())
        );
        let message = conflict.to_string();
        assert!(
            message.contains("both serve cluster [cloud=aws]"),
            "{message}"
        );
    }

    #[test]
    fn an_unknown_module_lists_what_is_loaded() {
        let registry = Registry::new(vec![fake("general", &[("cluster", &[])])]).unwrap();
        let err = registry.route("database", &labels(&[])).unwrap_err();
        let RouteError::UnknownModule { module, loaded } = &err else {
            panic!("{err:?}");
        };
        assert_eq!(module, "database");
        assert_eq!(loaded, "cluster by general@1.0.0");
    }

    #[test]
    fn no_match_names_the_composite_labels_and_the_routes_of_the_module() {
        let registry = Registry::new(vec![
            fake("gcp", &[("cluster", &[("cloud", "gcp")])]),
            fake("other", &[("database", &[])]),
        ])
        .unwrap();
        let err = registry
            .route("cluster", &labels(&[("cloud", "oracle")]))
            .unwrap_err();
        let RouteError::NoMatch {
            labels: got,
            routes,
            ..
        } = &err
        else {
            panic!("{err:?}");
        };
        assert_eq!(got, &labels(&[("cloud", "oracle")]));
        assert_eq!(routes, "cluster [cloud=gcp] by gcp@1.0.0");
        assert!(err.to_string().contains("labelled [cloud=oracle]"), "{err}");
    }

    #[test]
    fn equally_specific_matches_are_ambiguous_and_named() {
        let registry = Registry::new(vec![
            fake("by-cloud", &[("cluster", &[("cloud", "gcp")])]),
            fake("by-tier", &[("cluster", &[("tier", "gold")])]),
        ])
        .unwrap();
        let err = registry
            .route("cluster", &labels(&[("cloud", "gcp"), ("tier", "gold")]))
            .unwrap_err();
        let RouteError::Ambiguous { matches, .. } = &err else {
            panic!("{err:?}");
        };
        assert_eq!(
            matches,
            &[
                "cluster [cloud=gcp] by by-cloud@1.0.0".to_string(),
                "cluster [tier=gold] by by-tier@1.0.0".to_string()
            ]
        );
    }
}

//! Better Auth's access control (`packages/better-auth/src/plugins/access/access.ts`): a role is
//! a map from resource to allowed actions, and a request (resource → actions) is authorized
//! against it. Used by the admin and organization plugins.

use indexmap::IndexMap;

/// Allowed actions per resource.
pub type Statements = IndexMap<String, Vec<String>>;

/// How the resources of one request combine.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Connector {
    /// Every requested resource must be authorized (Better Auth's default).
    #[default]
    And,
    /// One authorized resource is enough.
    Or,
}

/// The actions asked for one resource, and how they combine.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Actions {
    pub actions: Vec<String>,
    pub connector: Connector,
}

impl From<Vec<String>> for Actions {
    fn from(actions: Vec<String>) -> Self {
        Self {
            actions,
            connector: Connector::And,
        }
    }
}

/// Better Auth's answer: `{success}` or `{success: false, error}`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Authorization {
    pub success: bool,
    pub error: Option<String>,
}

impl Authorization {
    fn ok() -> Self {
        Self {
            success: true,
            error: None,
        }
    }

    fn denied(error: String) -> Self {
        Self {
            success: false,
            error: Some(error),
        }
    }
}

fn resource_authorized(allowed: &[String], request: &Actions) -> bool {
    if request.actions.is_empty() {
        return false;
    }
    let has = |a: &String| allowed.contains(a);
    match request.connector {
        Connector::Or => request.actions.iter().any(has),
        Connector::And => request.actions.iter().all(has),
    }
}

/// `role.authorize(request, connector)`.
pub fn authorize(
    role: &Statements,
    request: &IndexMap<String, Actions>,
    connector: Connector,
) -> Authorization {
    let mut any = false;
    for (resource, actions) in request {
        let Some(allowed) = role.get(resource) else {
            if connector == Connector::And {
                return Authorization::denied(format!(
                    "You are not allowed to access resource: {resource}"
                ));
            }
            continue;
        };
        let ok = resource_authorized(allowed, actions);
        if ok {
            any = true;
            if connector == Connector::Or {
                return Authorization::ok();
            }
        } else if connector == Connector::And {
            return Authorization::denied(format!(
                "unauthorized to access resource \"{resource}\""
            ));
        }
    }
    if any {
        Authorization::ok()
    } else {
        Authorization::denied("Not authorized".into())
    }
}

/// Statements from `(resource, [actions])` pairs.
pub fn statements(pairs: &[(&str, &[&str])]) -> Statements {
    pairs
        .iter()
        .map(|(r, a)| ((*r).to_owned(), a.iter().map(|s| (*s).to_owned()).collect()))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request(pairs: &[(&str, &[&str])]) -> IndexMap<String, Actions> {
        statements(pairs)
            .into_iter()
            .map(|(k, v)| (k, Actions::from(v)))
            .collect()
    }

    #[test]
    fn every_action_of_every_resource_is_needed_by_default() {
        let role = statements(&[("user", &["list", "ban"]), ("session", &["list"])]);
        assert!(
            authorize(
                &role,
                &request(&[("user", &["list", "ban"])]),
                Connector::And
            )
            .success
        );
        let partly = authorize(
            &role,
            &request(&[("user", &["list", "delete"])]),
            Connector::And,
        );
        assert_eq!(
            partly.error.as_deref(),
            Some("unauthorized to access resource \"user\"")
        );
        let unknown = authorize(&role, &request(&[("team", &["create"])]), Connector::And);
        assert_eq!(
            unknown.error.as_deref(),
            Some("You are not allowed to access resource: team")
        );
        let empty = authorize(&role, &request(&[("user", &[])]), Connector::And);
        assert!(!empty.success);
    }

    #[test]
    fn or_needs_one_resource_and_or_actions_need_one_action() {
        let role = statements(&[("user", &["list"])]);
        let req = request(&[("team", &["create"]), ("user", &["list"])]);
        assert!(authorize(&role, &req, Connector::Or).success);
        let none = authorize(&role, &request(&[("team", &["create"])]), Connector::Or);
        assert_eq!(none.error.as_deref(), Some("Not authorized"));
        let mut one_of = IndexMap::new();
        one_of.insert(
            "user".to_owned(),
            Actions {
                actions: vec!["ban".into(), "list".into()],
                connector: Connector::Or,
            },
        );
        assert!(authorize(&role, &one_of, Connector::And).success);
    }
}

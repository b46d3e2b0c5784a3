//! `rbac-overbroad`: bindings to cluster-admin, and rules with wildcards or with the verbs and
//! resources that hand out more than they seem to (reading Secrets, exec into pods, escalate,
//! bind, impersonate).

use serde_json::Value;

use super::finding::{Check, Finding, Severity};
use super::workload::Object;

const GROUP: &str = "rbac.authorization.k8s.io";
const READ_VERBS: [&str; 4] = ["get", "list", "watch", "*"];
const EXEC_RESOURCES: [&str; 3] = ["pods/exec", "pods/attach", "pods/portforward"];
const POWER_VERBS: [&str; 3] = ["escalate", "bind", "impersonate"];

fn strings(value: &Value) -> Vec<&str> {
    value
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
        .collect()
}

pub fn check(object: &Object, out: &mut Vec<Finding>) {
    if object.is(GROUP, "ClusterRoleBinding") || object.is(GROUP, "RoleBinding") {
        return check_binding(object, out);
    }
    if object.is(GROUP, "ClusterRole") || object.is(GROUP, "Role") {
        check_rules(object, out);
    }
}

fn check_binding(object: &Object, out: &mut Vec<Finding>) {
    let role = &object.value["roleRef"];
    if role["kind"] != "ClusterRole" || role["name"] != "cluster-admin" {
        return;
    }
    let subjects: Vec<String> = object.value["subjects"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|s| {
            let name = s["name"].as_str().unwrap_or("?");
            match s["namespace"].as_str() {
                Some(ns) => format!("{} {ns}/{name}", s["kind"].as_str().unwrap_or("?")),
                None => format!("{} {name}", s["kind"].as_str().unwrap_or("?")),
            }
        })
        .collect();
    let scope = if object.id.kind == "ClusterRoleBinding" {
        "everywhere"
    } else {
        "in its namespace"
    };
    out.push(
        Finding::new(
            Check::RbacOverbroad,
            object,
            "roleRef.name".into(),
            format!("binds cluster-admin {scope} to {}", subjects.join(", ")),
        )
        .with_severity(if scope == "everywhere" {
            Severity::Critical
        } else {
            Severity::High
        }),
    );
}

fn check_rules(object: &Object, out: &mut Vec<Finding>) {
    let rules = object.value["rules"].as_array().into_iter().flatten();
    for (i, rule) in rules.enumerate() {
        let (verbs, resources, groups) = (
            strings(&rule["verbs"]),
            strings(&rule["resources"]),
            strings(&rule["apiGroups"]),
        );
        let mut problems = Vec::new();
        let wild: Vec<&str> = [
            ("verbs", &verbs),
            ("resources", &resources),
            ("apiGroups", &groups),
        ]
        .iter()
        .filter(|(_, list)| list.contains(&"*"))
        .map(|(name, _)| *name)
        .collect();
        if !wild.is_empty() {
            problems.push(format!("wildcard in {}", wild.join(", ")));
        }
        let core = groups.contains(&"") || groups.contains(&"*");
        let any_resource = resources.contains(&"*");
        if core
            && (resources.contains(&"secrets") || any_resource)
            && verbs.iter().any(|v| READ_VERBS.contains(v))
        {
            problems.push("reads Secrets".to_string());
        }
        let exec: Vec<&str> = resources
            .iter()
            .copied()
            .filter(|r| EXEC_RESOURCES.contains(r))
            .collect();
        if core && !exec.is_empty() && verbs.iter().any(|v| matches!(*v, "create" | "get" | "*")) {
            problems.push(format!("runs commands in pods ({})", exec.join(", ")));
        }
        let power: Vec<&str> = verbs
            .iter()
            .copied()
            .filter(|v| POWER_VERBS.contains(v))
            .collect();
        if !power.is_empty() {
            problems.push(format!("grants {}", power.join(", ")));
        }
        if problems.is_empty() {
            continue;
        }
        out.push(Finding::new(
            Check::RbacOverbroad,
            object,
            format!("rules[{i}]"),
            format!("{} rule {i}: {}", object.id.kind, problems.join("; ")),
        ));
    }
}
